#!/usr/bin/env python3
"""Generates protocol/gen/messages.{h,c} from protocol/schema/NN_name.def.

The schema form is described in protocol/schema/README.md. The output is C
structs (one per message and per nested struct) and the const descriptor
tables that protocol/codec.c interprets. Run `make gen` (or this script with
no arguments) after editing a schema; `--check` exits 1 when the committed
files differ from what the schemas produce.
"""
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SCHEMA_DIR = os.path.join(ROOT, "protocol", "schema")
VMAX = 32767

PRIMS = {
    "bool": ("bool", "PROTO_T_BOOL"),
    "int8": ("int8_t", "PROTO_T_INT8"),
    "int16": ("int16_t", "PROTO_T_INT16"),
    "int32": ("int32_t", "PROTO_T_INT32"),
    "int64": ("int64_t", "PROTO_T_INT64"),
    "uint16": ("uint16_t", "PROTO_T_UINT16"),
    "float64": ("double", "PROTO_T_FLOAT64"),
    "string": ("proto_str_t", "PROTO_T_STRING"),
    "bytes": ("proto_bytes_t", "PROTO_T_BYTES"),
    "records": ("proto_bytes_t", "PROTO_T_RECORDS"),
    "uuid": ("proto_uuid_t", "PROTO_T_UUID"),
}
PRIM_ARRAYS = {"int8", "int16", "int32", "int64", "string", "uuid"}
C_KEYWORDS = {"default", "int", "char", "long", "short", "struct", "union", "register", "return", "static", "const"}


class SchemaError(Exception):
    pass


def snake(name):
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", s)
    return s.lower()


def parse_versions(text, where):
    if text == "none":
        return (-1, -1)
    m = re.fullmatch(r"(\d+)\+", text)
    if m:
        return (int(m.group(1)), VMAX)
    m = re.fullmatch(r"(\d+)-(\d+)", text)
    if m:
        return (int(m.group(1)), int(m.group(2)))
    m = re.fullmatch(r"(\d+)", text)
    if m:
        return (int(m.group(1)), int(m.group(1)))
    raise SchemaError(f"{where}: bad versions '{text}'")


class Field:
    def __init__(self, name, typ, versions, attrs, where):
        self.name = name
        self.cname = name + "_" if name in C_KEYWORDS else name
        self.typ = typ
        self.versions = parse_versions(versions, where)
        self.nullable = (-1, -1)
        self.tag = -1
        self.default = None
        self.children = []
        self.where = where
        for a in attrs:
            k, _, v = a.partition("=")
            if k == "nullable":
                self.nullable = parse_versions(v, where)
            elif k == "tag":
                self.tag = int(v)
            elif k == "default":
                self.default = v
            else:
                raise SchemaError(f"{where}: unknown attribute '{a}'")
        self.is_array = typ.startswith("[]")
        self.elem = typ[2:] if self.is_array else typ
        self.is_struct = self.elem not in PRIMS
        if self.is_struct and not re.fullmatch(r"[A-Z][A-Za-z0-9]*", self.elem):
            raise SchemaError(f"{where}: unknown type '{typ}'")
        if self.is_array and not self.is_struct and self.elem not in PRIM_ARRAYS:
            raise SchemaError(f"{where}: arrays of {self.elem} are not supported")


class Message:
    def __init__(self, api, kind):
        self.api = api
        self.kind = kind  # "req" / "resp"
        self.fields = []


class Api:
    def __init__(self, key, name, vmin, vmax, flex, adv_min, path):
        self.key = key
        self.name = name
        self.snake = snake(name)
        self.vmin, self.vmax = vmin, vmax
        self.flex = flex
        self.adv_min = adv_min
        self.path = path
        self.msgs = {}


def parse_file(path):
    api = None
    cur = None
    stack = []
    rel = os.path.relpath(path, ROOT)
    with open(path) as f:
        for lineno, raw in enumerate(f, 1):
            where = f"{rel}:{lineno}"
            line = raw.split("#", 1)[0].rstrip()
            if not line.strip():
                continue
            indent = len(line) - len(line.lstrip(" "))
            if indent % 2:
                raise SchemaError(f"{where}: indentation must be a multiple of two spaces")
            words = line.split()
            depth = indent // 2
            if depth == 0:
                if words[0] == "api":
                    m = re.fullmatch(
                        r"api (\d+) ([A-Za-z]+) versions (\d+)-(\d+) flexible (\d+\+|none)( advertise (\d+))?",
                        " ".join(words))
                    if not m:
                        raise SchemaError(f"{where}: bad api line")
                    flex = -1 if m.group(5) == "none" else int(m.group(5)[:-1])
                    adv = int(m.group(7)) if m.group(7) else int(m.group(3))
                    api = Api(int(m.group(1)), m.group(2), int(m.group(3)), int(m.group(4)), flex, adv, rel)
                elif words[0] in ("request", "response") and len(words) == 1:
                    if api is None:
                        raise SchemaError(f"{where}: '{words[0]}' before 'api'")
                    cur = Message(api, "req" if words[0] == "request" else "resp")
                    api.msgs[cur.kind] = cur
                    stack = [cur.fields]
                else:
                    raise SchemaError(f"{where}: expected api, request or response")
                continue
            if cur is None:
                raise SchemaError(f"{where}: field outside a message")
            if depth > len(stack):
                raise SchemaError(f"{where}: unexpected indentation")
            del stack[depth:]
            if len(words) < 3:
                raise SchemaError(f"{where}: a field needs name, type and versions")
            fld = Field(words[0], words[1], words[2], words[3:], where)
            parent = stack[depth - 1]
            if any(x.name == fld.name for x in parent):
                raise SchemaError(f"{where}: duplicate field '{fld.name}'")
            parent.append(fld)
            stack.append(fld.children)
    if api is None or set(api.msgs) != {"req", "resp"}:
        raise SchemaError(f"{rel}: needs an api line, a request and a response")
    return api


def check_structs(api, kind, fields, names, path):
    for f in fields:
        if f.is_struct:
            if not f.children:
                raise SchemaError(f"{f.where}: struct {f.elem} has no fields")
            if f.elem in names:
                raise SchemaError(f"{f.where}: struct name {f.elem} used twice in one message")
            names.add(f.elem)
            check_structs(api, kind, f.children, names, path)
        elif f.children:
            raise SchemaError(f"{f.where}: only struct fields have children")


def ctype_name(api, kind, sname):
    return f"proto_{api.snake}_{kind}_{snake(sname)}" if sname else f"proto_{api.snake}_{kind}"


def default_literal(f):
    d = f.default
    if f.typ in ("string", "bytes", "records"):
        if d is not None and d != "null":
            raise SchemaError(f"{f.where}: only default=null is supported for {f.typ}")
        return "0", "1" if d == "null" else "0"
    if d is None:
        return "0", "0"
    if f.typ == "bool":
        if d not in ("true", "false"):
            raise SchemaError(f"{f.where}: bool default must be true or false")
        return ("1" if d == "true" else "0"), "0"
    if f.typ in ("int8", "int16", "int32", "int64", "uint16"):
        if not re.fullmatch(r"-?\d+", d):
            raise SchemaError(f"{f.where}: bad integer default '{d}'")
        v = int(d)
        return (f"INT64_C({v})" if v >= -(2**63) + 1 else "INT64_MIN"), "0"
    raise SchemaError(f"{f.where}: default not supported for {f.typ}")


def gen(apis):
    h = []
    c = []
    banner = "/* Generated by protocol/gen/gen_messages.py from protocol/schema/NN_name.def. Do not edit. */\n"
    h.append(banner)
    h.append("#ifndef EDDY_PROTOCOL_GEN_MESSAGES_H\n#define EDDY_PROTOCOL_GEN_MESSAGES_H\n")
    h.append('#include "protocol/codec.h"\n')
    h.append("enum proto_api_key_e {")
    for a in apis:
        h.append(f"    PROTO_API_{a.snake.upper()} = {a.key},")
    h.append("};\n")
    c.append(banner)
    c.append("#include <stddef.h>\n#include <stdint.h>\n")
    c.append('#include "protocol/gen/messages.h"\n')

    def emit_struct(api, kind, sname, fields):
        # children first so every type is complete where it is used
        for f in fields:
            if f.is_struct:
                emit_struct(api, kind, f.elem, f.children)
        tname = ctype_name(api, kind, sname)
        h.append(f"typedef struct {tname}_s {{")
        for f in fields:
            if f.is_struct:
                st = ctype_name(api, kind, f.elem) + "_t"
                decl = f"PROTO_ARRAY_OF({st})" if f.is_array else st
            elif f.is_array:
                decl = f"proto_arr_{f.elem}_t"
            else:
                decl = PRIMS[f.typ][0]
            vmin, vmax = f.versions
            note = f"v{vmin}+" if vmax == VMAX else f"v{vmin}-{vmax}"
            if f.tag >= 0:
                note += f", tag {f.tag}"
            if f.nullable[0] >= 0:
                note += ", nullable"
            h.append(f"    {decl} {f.cname}; /* {note} */")
        if not fields:
            h.append("    char unused_;")
        h.append(f"}} {tname}_t;")
        h.append(f"extern const proto_struct_desc_t {tname}_desc;\n")
        c.append(f"static const proto_field_t {tname}_fields[] = {{")
        for f in fields:
            ptype = "PROTO_T_STRUCT" if f.is_struct else PRIMS[f.elem][1]
            vmin, vmax = f.versions
            nmin, nmax = f.nullable
            if f.is_struct:
                sub = "&" + ctype_name(api, kind, f.elem) + "_desc"
                esize = f"sizeof({ctype_name(api, kind, f.elem)}_t)"
                dint, dnull = "0", "0"
            else:
                sub = "NULL"
                esize = f"sizeof({PRIMS[f.elem][0]})"
                dint, dnull = default_literal(f) if not f.is_array else ("0", "0")
            c.append(f'    {{"{f.name}", {ptype}, {1 if f.is_array else 0}, {vmin}, {vmax}, {nmin}, {nmax}, {f.tag},'
                     f" offsetof({tname}_t, {f.cname}), {esize}, {sub}, {dint}, {dnull}}},")
        if not fields:
            c.append("    {0}")
        c.append("};")
        c.append(f'const proto_struct_desc_t {tname}_desc = {{"{sname or api.name}", sizeof({tname}_t), {len(fields)}, {tname}_fields}};\n')

    for a in apis:
        for kind in ("req", "resp"):
            check_structs(a, kind, a.msgs[kind].fields, set(), a.path)
            h.append(f"/* {a.key} {a.name} {'request' if kind == 'req' else 'response'} ({a.path}) */\n")
            emit_struct(a, kind, None, a.msgs[kind].fields)

    h.append("extern const proto_api_desc_t proto_api_table[];")
    h.append("extern const size_t proto_api_table_len;\n")
    h.append("#endif")
    c.append("const proto_api_desc_t proto_api_table[] = {")
    for a in apis:
        c.append(f'    {{{a.key}, "{a.name}", {a.vmin}, {a.vmax}, {a.adv_min}, {a.flex},'
                 f" &proto_{a.snake}_req_desc, &proto_{a.snake}_resp_desc}},")
    c.append("};")
    c.append("const size_t proto_api_table_len = sizeof(proto_api_table) / sizeof(proto_api_table[0]);")
    return "\n".join(h) + "\n", "\n".join(c) + "\n"


def main():
    args = sys.argv[1:]
    check = "--check" in args
    schema_dir, out_dir = SCHEMA_DIR, HERE
    if "--schema-dir" in args:
        schema_dir = args[args.index("--schema-dir") + 1]
    if "--out-dir" in args:
        out_dir = args[args.index("--out-dir") + 1]
    paths = sorted(os.path.join(schema_dir, p) for p in os.listdir(schema_dir) if p.endswith(".def"))
    try:
        apis = [parse_file(p) for p in paths]
    except SchemaError as e:
        print(f"gen_messages: {e}", file=sys.stderr)
        return 2
    keys = [a.key for a in apis]
    if len(set(keys)) != len(keys):
        print("gen_messages: two schemas for one api key", file=sys.stderr)
        return 2
    apis.sort(key=lambda a: a.key)
    try:
        hdr, src = gen(apis)
    except SchemaError as e:
        print(f"gen_messages: {e}", file=sys.stderr)
        return 2
    out = {os.path.join(out_dir, "messages.h"): hdr, os.path.join(out_dir, "messages.c"): src}
    stale = []
    for path, text in out.items():
        old = open(path).read() if os.path.exists(path) else None
        if old != text:
            stale.append(os.path.relpath(path, ROOT))
            if not check:
                with open(path, "w") as f:
                    f.write(text)
    if check and stale:
        print("gen_messages: stale generated files: " + ", ".join(stale) + " (run make gen)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
