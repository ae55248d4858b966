#!/usr/bin/env python3
"""Compare eddy's message schemas (protocol/schema/*.def) with Kafka's own
message definitions, so a transcription slip shows up before it reaches the
wire.

usage: check_schema.py [--strict] KAFKA [SCHEMA.def ...]

KAFKA is one of
  * a directory holding Kafka's <Name>Request.json / <Name>Response.json,
  * a Kafka checkout (clients/src/main/resources/common/message is used),
  * a bare Kafka git repository (the JSONs are read with `git show HEAD:...`).
Without schema files, every protocol/schema/*.def next to this script is
checked.

Only the versions our api line decodes (`versions MIN-MAX`) are compared:
version, nullable and tagged ranges are clipped to that window first, and a
Kafka field that does not exist anywhere in the window may be left out of
our schema. With --strict the unclipped version strings must match too.

Reported: missing and extra fields, field order, types, versions, nullable
versions, tags, defaults, the api key/name/flexible versions, and problems
in our own files (syntax, indentation, duplicate struct names). Exit status
0 when everything matches, 1 on differences, 2 on usage or read errors.

Standard library only; Kafka's files are read, never copied.
"""

import glob
import json
import os
import re
import subprocess
import sys

VMAX = 32767  # "N+" is open-ended; int16 bounds every real version
PRIMITIVES = {"bool", "int8", "int16", "int32", "int64", "uint16", "float64",
              "string", "bytes", "records", "uuid"}
INT_TYPES = {"int8", "int16", "int32", "int64", "uint16"}
KAFKA_MSG_PATH = "clients/src/main/resources/common/message"


class SchemaError(Exception):
    pass


# ---------------------------------------------------------------- versions

def parse_versions(text):
    """'N+', 'N-M', 'N' or 'none' -> (lo, hi) inclusive, or None for none."""
    text = text.strip()
    if text == "none" or text == "":
        return None
    m = re.fullmatch(r"(\d+)\+", text)
    if m:
        return (int(m.group(1)), VMAX)
    m = re.fullmatch(r"(\d+)-(\d+)", text)
    if m:
        lo, hi = int(m.group(1)), int(m.group(2))
        if lo > hi:
            raise SchemaError("empty version range %r" % text)
        return (lo, hi)
    m = re.fullmatch(r"\d+", text)
    if m:
        return (int(text), int(text))
    raise SchemaError("bad version range %r" % text)


def clip(rng, window):
    if rng is None or window is None:
        return None
    lo, hi = max(rng[0], window[0]), min(rng[1], window[1])
    return (lo, hi) if lo <= hi else None


def fmt_versions(rng):
    if rng is None:
        return "none"
    lo, hi = rng
    if hi == VMAX:
        return "%d+" % lo
    if lo == hi:
        return "%d" % lo
    return "%d-%d" % (lo, hi)


def snake(name):
    """Kafka's PascalCase (or camelCase) field name -> our snake_case."""
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s)
    return s.lower()


# ------------------------------------------------------------- our schema

class Field:
    def __init__(self, name, typ, versions, vtext, line):
        self.name = name
        self.type = typ            # as written: int32, []int32, []Topic, Topic
        self.versions = versions   # (lo, hi)
        self.vtext = vtext
        self.nullable = None       # (lo, hi) or None
        self.ntext = None
        self.tag = None
        self.default = None        # normalised, see norm_default
        self.has_default = False
        self.fields = []           # children for struct types
        self.line = line

    def kind(self):
        return type_kind(self.type)


class Message:
    def __init__(self, which):
        self.which = which         # "request" / "response"
        self.fields = []


class Api:
    def __init__(self, path):
        self.path = path
        self.key = None
        self.name = None
        self.window = None
        self.flexible = None
        self.advertise = None
        self.messages = {}


def type_kind(typ):
    """-> (is_array, element) where element is a primitive name or 'struct'."""
    arr = typ.startswith("[]")
    elem = typ[2:] if arr else typ
    return (arr, elem if elem in PRIMITIVES else "struct")


def parse_attr(field, attr, where):
    key, sep, val = attr.partition("=")
    if not sep or not val:
        raise SchemaError("%s: bad attribute %r" % (where, attr))
    if key == "nullable":
        field.nullable = parse_versions(val)
        field.ntext = val
    elif key == "tag":
        if not val.isdigit():
            raise SchemaError("%s: bad tag %r" % (where, val))
        field.tag = int(val)
    elif key == "default":
        field.has_default = True
        if val in ("true", "false"):
            field.default = (val == "true")
        elif val == "null":
            field.default = None
        elif re.fullmatch(r"-?\d+", val):
            field.default = int(val)
        else:
            raise SchemaError("%s: bad default %r (integer, true, false or "
                              "null)" % (where, val))
    else:
        raise SchemaError("%s: unknown attribute %r" % (where, key))


def parse_def(path):
    api = Api(path)
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    msg = None
    stack = []  # (depth, Field) of open structs
    for lineno, raw in enumerate(lines, 1):
        where = "%s:%d" % (path, lineno)
        text = raw.split("#", 1)[0].rstrip()
        if not text.strip():
            continue
        if "\t" in text:
            raise SchemaError("%s: tab in indentation" % where)
        indent = len(text) - len(text.lstrip(" "))
        words = text.split()
        if indent == 0:
            if words[0] == "api":
                m = re.fullmatch(r"api (\d+) (\w+) versions (\d+)-(\d+) "
                                 r"flexible (\d+\+|none)(?: advertise (\d+))?",
                                 " ".join(words))
                if not m or api.key is not None:
                    raise SchemaError("%s: bad or repeated api line" % where)
                api.key = int(m.group(1))
                api.name = m.group(2)
                api.window = (int(m.group(3)), int(m.group(4)))
                if api.window[0] > api.window[1]:
                    raise SchemaError("%s: empty version range" % where)
                api.flexible = parse_versions(m.group(5))
                api.advertise = int(m.group(6)) if m.group(6) else None
            elif words[0] in ("request", "response") and len(words) == 1:
                if api.key is None:
                    raise SchemaError("%s: %s before the api line"
                                      % (where, words[0]))
                if words[0] in api.messages:
                    raise SchemaError("%s: second %s" % (where, words[0]))
                msg = Message(words[0])
                api.messages[words[0]] = msg
                stack = []
            else:
                raise SchemaError("%s: unexpected %r" % (where, words[0]))
            continue
        if msg is None:
            raise SchemaError("%s: field outside request/response" % where)
        if indent % 2:
            raise SchemaError("%s: indentation is not a multiple of two"
                              % where)
        depth = indent // 2 - 1
        if len(words) < 3:
            raise SchemaError("%s: want 'name type versions [attr ...]'"
                              % where)
        name, typ, vtext = words[0], words[1], words[2]
        if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
            raise SchemaError("%s: field name %r is not snake_case"
                              % (where, name))
        elem = typ[2:] if typ.startswith("[]") else typ
        if elem not in PRIMITIVES and not re.fullmatch(r"[A-Z][A-Za-z0-9]*",
                                                       elem):
            raise SchemaError("%s: unknown type %r" % (where, typ))
        field = Field(name, typ, parse_versions(vtext), vtext, lineno)
        if field.versions is None:
            raise SchemaError("%s: a field needs versions" % where)
        for attr in words[3:]:
            parse_attr(field, attr, where)
        # close structs we have left
        while stack and stack[-1][0] >= depth:
            closed = stack.pop()[1]
            if not closed.fields:
                raise SchemaError("%s:%d: struct field %s has no fields"
                                  % (path, closed.line, closed.name))
        expected = stack[-1][0] + 1 if stack else 0
        if depth != expected:
            raise SchemaError("%s: indentation level %d, expected %d"
                              % (where, depth, expected))
        parent = stack[-1][1].fields if stack else msg.fields
        parent.append(field)
        if field.kind()[1] == "struct":
            stack.append((depth, field))
    if api.key is None:
        raise SchemaError("%s: no api line" % path)
    for which in ("request", "response"):
        if which not in api.messages:
            raise SchemaError("%s: no %s" % (path, which))
    for m in api.messages.values():
        check_open_structs(path, m.fields)
    return api


def check_open_structs(path, fields):
    for f in fields:
        if f.kind()[1] == "struct" and not f.fields:
            raise SchemaError("%s:%d: struct field %s has no fields"
                              % (path, f.line, f.name))
        check_open_structs(path, f.fields)


# ----------------------------------------------------------- Kafka's JSON

def strip_comments(text):
    """Drops // and /* */ comments outside string literals."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(text[i:j + 1])
            i = j + 1
        elif text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            i = n if j < 0 else j + 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


class KafkaSource:
    def __init__(self, where):
        self.where = where
        self.dir = None
        self.git = None
        if os.path.isdir(os.path.join(where, KAFKA_MSG_PATH)):
            self.dir = os.path.join(where, KAFKA_MSG_PATH)
        elif glob.glob(os.path.join(where, "*Request.json")):
            self.dir = where
        elif os.path.isdir(where):
            self.git = where
        else:
            raise SchemaError("%s: not a directory" % where)

    def load(self, filename):
        if self.dir:
            path = os.path.join(self.dir, filename)
            try:
                with open(path, encoding="utf-8") as f:
                    text = f.read()
            except OSError as e:
                raise SchemaError("%s: %s" % (path, e.strerror))
        else:
            spec = "HEAD:%s/%s" % (KAFKA_MSG_PATH, filename)
            try:
                p = subprocess.run(["git", "-C", self.git, "show", spec],
                                   capture_output=True, check=False)
            except OSError as e:
                raise SchemaError("git: %s" % e)
            if p.returncode != 0:
                raise SchemaError("%s: git show %s failed: %s" % (
                    self.git, spec, p.stderr.decode(errors="replace").strip()))
            text = p.stdout.decode("utf-8")
        try:
            return json.loads(strip_comments(text))
        except ValueError as e:
            raise SchemaError("%s: bad JSON: %s" % (filename, e))


def kafka_default(kf, typ):
    """Normalised default of a Kafka field: int, bool, None (null), str."""
    arr, elem = type_kind(typ)
    d = kf.get("default")
    if isinstance(d, str):
        d = d.strip()
    if arr or elem == "struct":
        return None if d == "null" else "empty"
    if elem in INT_TYPES:
        if d is None or d == "":
            return 0
        return int(d, 0) if isinstance(d, str) else int(d)
    if elem == "bool":
        if d is None or d == "":
            return False
        return d if isinstance(d, bool) else d == "true"
    if elem == "float64":
        return float(d) if d not in (None, "") else 0.0
    if elem == "string":
        if d is None:
            return ""
        return None if d == "null" else d
    # bytes, records, uuid: Kafka has no defaults worth comparing
    return None if d == "null" else "zero"


def our_default(f):
    arr, elem = f.kind()
    if arr or elem == "struct":
        if f.has_default and f.default is not None:
            return "bad: %r" % f.default
        return None if f.has_default else "empty"
    if not f.has_default:
        return {"bool": False, "string": "", "float64": 0.0}.get(
            elem, 0 if elem in INT_TYPES else "zero")
    if elem in INT_TYPES and isinstance(f.default, bool):
        return "bad: %r" % f.default
    if elem == "bool" and not isinstance(f.default, bool):
        return "bad: %r" % f.default
    if elem == "float64" and isinstance(f.default, int):
        return float(f.default)
    if elem == "string" and f.default is not None:
        return "bad: %r" % f.default
    return f.default


# ------------------------------------------------------------- comparison

class Checker:
    def __init__(self, strict):
        self.strict = strict
        self.diffs = []

    def diff(self, where, text):
        self.diffs.append("%s: %s" % (where, text))

    def check_api(self, api, src):
        where = os.path.basename(api.path)
        for which, suffix in (("request", "Request"),
                              ("response", "Response")):
            kmsg = src.load(api.name + suffix + ".json")
            if kmsg.get("apiKey") != api.key:
                self.diff(where, "api key %s, Kafka says %s" % (
                    api.key, kmsg.get("apiKey")))
            if kmsg.get("name") != api.name + suffix:
                self.diff(where, "name %s, Kafka says %s" % (
                    api.name + suffix, kmsg.get("name")))
            valid = parse_versions(kmsg.get("validVersions", "none"))
            if clip(api.window, valid) != api.window:
                self.diff(where, "versions %s reach outside Kafka's %s %s"
                          % (fmt_versions(api.window), which,
                             fmt_versions(valid)))
            kflex = parse_versions(kmsg.get("flexibleVersions", "none"))
            if clip(kflex, api.window) != clip(api.flexible, api.window):
                self.diff(where, "flexible %s, Kafka's %s is flexible %s" % (
                    fmt_versions(api.flexible), which, fmt_versions(kflex)))
            common = {s["name"]: s for s in kmsg.get("commonStructs", [])}
            self.seen_structs = {}
            self.flex = clip(api.flexible, api.window)
            self.common = common
            self.compare_fields("%s %s" % (where, which),
                                api.messages[which].fields,
                                kmsg.get("fields", []), api.window)

    def kafka_children(self, kf, where):
        if "fields" in kf:
            return kf["fields"]
        elem = kf["type"][2:] if kf["type"].startswith("[]") else kf["type"]
        if elem in self.common:
            return self.common[elem].get("fields", [])
        self.diff(where, "Kafka struct type %s has no fields" % elem)
        return []

    def compare_fields(self, where, ours, theirs, window):
        kmap = {}
        korder = []
        for kf in theirs:
            v = parse_versions(kf.get("versions", "none"))
            if clip(v, window) is None:
                continue  # never on the wire in our window
            name = snake(kf["name"])
            kmap[name] = kf
            korder.append(name)
        omap = {}
        oorder = []
        for f in ours:
            if f.name in omap:
                self.diff("%s.%s" % (where, f.name), "duplicate field")
                continue
            omap[f.name] = f
            if f.name not in kmap and clip(f.versions, window) is None:
                continue  # an out-of-window leftover; harmless
            oorder.append(f.name)
        for name in korder:
            if name not in omap:
                self.diff("%s.%s" % (where, name),
                          "missing (Kafka %s %s, versions %s)" % (
                              kmap[name]["name"], kmap[name]["type"],
                              kmap[name].get("versions")))
        for name in oorder:
            if name not in kmap:
                self.diff("%s.%s" % (where, name),
                          "extra (line %d), not in Kafka's definition within "
                          "versions %s" % (omap[name].line,
                                           fmt_versions(window)))
        a = [n for n in oorder if n in kmap]
        b = [n for n in korder if n in omap]
        if a != b:
            self.diff(where, "field order %s, Kafka's %s" % (
                " ".join(a), " ".join(b)))
        for f in ours:
            arr, elem = f.kind()
            if elem == "struct":
                prev = self.seen_structs.get(f.type.lstrip("[]"))
                if prev is not None and prev is not f:
                    self.diff("%s.%s" % (where, f.name),
                              "struct name %s used twice in one message"
                              % f.type.lstrip("[]"))
                self.seen_structs[f.type.lstrip("[]")] = f
        for name in b:
            self.compare_field("%s.%s" % (where, name), omap[name],
                               kmap[name], window)

    def compare_field(self, where, f, kf, window):
        ktype = kf["type"]
        karr, kelem = type_kind(ktype)
        arr, elem = f.kind()
        if (arr, elem) != (karr, kelem):
            self.diff(where, "type %s, Kafka's %s" % (f.type, ktype))
        kver = parse_versions(kf.get("versions", "none"))
        ktagged = parse_versions(kf.get("taggedVersions", "none"))
        ktag = kf.get("tag")
        # A tagged field is written with its tagged versions as versions.
        kfield_ver = ktagged if ktag is not None else kver
        if ktag is not None and ktagged != kver:
            self.diff(where, "Kafka versions %s but tagged only in %s: our "
                      "form cannot say that" % (fmt_versions(kver),
                                                fmt_versions(ktagged)))
        cv = clip(f.versions, window)
        if cv != clip(kfield_ver, window):
            self.diff(where, "versions %s, Kafka's %s (in %s)" % (
                f.vtext, fmt_versions(kfield_ver), fmt_versions(window)))
        elif self.strict and f.versions != kfield_ver:
            self.diff(where, "versions %s, Kafka writes %s" % (
                f.vtext, fmt_versions(kfield_ver)))
        knull = parse_versions(kf.get("nullableVersions", "none"))
        on = clip(clip(f.nullable, f.versions), window)
        kn = clip(clip(knull, kfield_ver), window)
        if on != kn:
            self.diff(where, "nullable %s, Kafka's %s" % (
                f.ntext or "none", fmt_versions(knull)))
        elif self.strict and f.nullable != knull:
            self.diff(where, "nullable %s, Kafka writes %s" % (
                f.ntext or "none", fmt_versions(knull)))
        if f.tag != ktag:
            self.diff(where, "tag %s, Kafka's %s" % (
                "none" if f.tag is None else f.tag,
                "none" if ktag is None else ktag))
        if f.tag is not None and cv is not None:
            if self.flex is None or clip(cv, self.flex) != cv:
                self.diff(where, "tagged in versions %s, not all flexible"
                          % fmt_versions(cv))
        kd = kafka_default(kf, ktype)
        od = our_default(f)
        if kd != od:
            if isinstance(kd, str) and kd not in ("", "empty", "zero"):
                self.diff(where, "Kafka default %r cannot be written in our "
                          "form" % kd)
            else:
                self.diff(where, "default %s, Kafka's %s" % (
                    fmt_default(od), fmt_default(kd)))
        if elem == "struct" and kelem == "struct":
            self.compare_fields(where, f.fields,
                                self.kafka_children(kf, where), window)
        elif f.fields:
            self.diff(where, "non-struct field has nested fields")


def fmt_default(d):
    if d is None:
        return "null"
    if isinstance(d, bool):
        return "true" if d else "false"
    if d == "":
        return '""'
    return str(d)


def main(argv):
    args = argv[1:]
    strict = False
    if args and args[0] == "--strict":
        strict = True
        args = args[1:]
    if not args or args[0] in ("-h", "--help"):
        sys.stderr.write(__doc__.split("\n\n")[1] + "\n")
        return 2
    kafka, files = args[0], args[1:]
    if not files:
        here = os.path.dirname(os.path.abspath(__file__))
        files = sorted(glob.glob(os.path.join(here, "..", "schema", "*.def")))
        if not files:
            sys.stderr.write("no schema files found\n")
            return 2
    checker = Checker(strict)
    failed = False
    try:
        src = KafkaSource(kafka)
    except SchemaError as e:
        sys.stderr.write("%s\n" % e)
        return 2
    for path in files:
        try:
            api = parse_def(path)
            checker.check_api(api, src)
        except SchemaError as e:
            sys.stderr.write("%s\n" % e)
            failed = True
        except OSError as e:
            sys.stderr.write("%s: %s\n" % (path, e.strerror))
            failed = True
    for d in checker.diffs:
        print(d)
    if failed:
        return 2
    if checker.diffs:
        print("%d difference(s)" % len(checker.diffs))
        return 1
    print("%d schema file(s) match Kafka" % len(files))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
