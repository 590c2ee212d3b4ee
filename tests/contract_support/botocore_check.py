"""Checks one recorded AWS exchange against AWS's own service model, as botocore ships it.

Usage: python botocore_check.py SERVICE OPERATION < exchange.json
where exchange.json is {"request": "<the form body the client sent>", "status": 200,
"response": "<the body the server answered>"}. Query protocol (form in, XML out).

Request: every form parameter is decoded through the operation's input shape (`Name.member.N`
lists, nested structures); a parameter the model does not declare is an error, and the decoded
parameters must pass botocore's own ParamValidator (required members, types, ranges).
Response: every XML element inside the result wrapper must be a member the output shape
declares (recursively), then botocore's own query parser parses it; the parsed result is
printed as JSON for the caller to compare with what its client read.
Exit status 0 when the exchange conforms, 1 with the reasons on stderr when it does not.
"""

import json
import sys
import urllib.parse
import xml.etree.ElementTree as ET

import botocore.session
from botocore.parsers import create_parser
from botocore.validate import ParamValidator

problems = []


def decode(shape, prefix, form, used):
    """The value of `shape` at `prefix` in the flat form, marking the keys it consumed."""
    kind = shape.type_name
    if kind == "structure":
        out = {}
        for name, member in shape.members.items():
            key = member.serialization.get("name", name)
            path = f"{prefix}.{key}" if prefix else key
            value = decode(member, path, form, used)
            if value is not None:
                out[name] = value
        return out or None
    if kind == "list":
        member_key = "member" if not shape.serialization.get("flattened") else None
        items = []
        n = 1
        while True:
            path = f"{prefix}.{member_key}.{n}" if member_key else f"{prefix}.{n}"
            if not any(k == path or k.startswith(path + ".") for k in form):
                break
            items.append(decode(shape.member, path, form, used))
            n += 1
        if prefix in form and form[prefix] == "":
            used.add(prefix)
            return []
        return items or None
    if prefix not in form:
        return None
    used.add(prefix)
    raw = form[prefix]
    if kind in ("integer", "long"):
        try:
            return int(raw)
        except ValueError:
            problems.append(f"{prefix}={raw!r} is not an integer")
            return None
    if kind == "boolean":
        return raw == "true"
    if kind in ("double", "float"):
        return float(raw)
    return raw


def local(tag):
    return tag.split("}", 1)[-1]


def strict(shape, element, path):
    """Every child element of `element` is declared by `shape`."""
    kind = shape.type_name
    if kind == "structure":
        names = {m.serialization.get("name", n): m for n, m in shape.members.items()}
        for child in element:
            tag = local(child.tag)
            if tag not in names:
                problems.append(f"{path}/{tag} is not in the model ({shape.name})")
                continue
            strict(names[tag], child, f"{path}/{tag}")
    elif kind == "list":
        member = shape.member.serialization.get("name", "member")
        for child in element:
            if local(child.tag) != member:
                problems.append(f"{path}/{local(child.tag)}: a list member must be <{member}>")
                continue
            strict(shape.member, child, f"{path}/{member}")
    elif kind == "map":
        return
    else:
        if len(element):
            problems.append(f"{path} is a {kind} but holds elements")
        text = element.text or ""
        if kind in ("integer", "long"):
            try:
                int(text)
            except ValueError:
                problems.append(f"{path}={text!r} is not an integer")
        if kind == "boolean" and text not in ("true", "false"):
            problems.append(f"{path}={text!r} is not a boolean")


def main():
    service, operation = sys.argv[1], sys.argv[2]
    exchange = json.load(sys.stdin)
    model = botocore.session.get_session().get_service_model(service)
    op = model.operation_model(operation)
    if model.protocol != "query":
        sys.exit(f"{service} speaks {model.protocol}: this checker reads the query protocol")

    form = dict(urllib.parse.parse_qsl(exchange["request"], keep_blank_values=True))
    if form.get("Action") != operation:
        problems.append(f"Action={form.get('Action')!r}, expected {operation}")
    if form.get("Version") != model.api_version:
        problems.append(f"Version={form.get('Version')!r}, the model's is {model.api_version}")
    used = {"Action", "Version"}
    params = decode(op.input_shape, "", form, used) or {}
    for key in sorted(set(form) - used):
        problems.append(f"request parameter {key} is not in the model")
    report = ParamValidator().validate(params, op.input_shape)
    if report.has_errors():
        problems.append("request: " + report.generate_report())

    body = exchange["response"].encode()
    status = exchange.get("status", 200)
    parsed = None
    if status == 200:
        root = ET.fromstring(body)
        wrapper = op.output_shape.serialization.get("resultWrapper") if op.output_shape else None
        if local(root.tag) != f"{operation}Response":
            problems.append(f"root element <{local(root.tag)}>, expected <{operation}Response>")
        result = next((c for c in root if local(c.tag) == wrapper), None) if wrapper else root
        if wrapper and result is None:
            problems.append(f"no <{wrapper}> in the answer")
        elif op.output_shape is not None:
            strict(op.output_shape, result, wrapper or "")
        if not any(local(c.tag) == "ResponseMetadata" for c in root):
            problems.append("no <ResponseMetadata> (RequestId) in the answer")
    parser = create_parser(model.protocol)
    parsed = parser.parse(
        {"body": body, "headers": {}, "status_code": status}, op.output_shape
    )
    if problems:
        print("\n".join(problems), file=sys.stderr)
        sys.exit(1)
    print(json.dumps({"params": params, "parsed": parsed}, default=str))


main()
