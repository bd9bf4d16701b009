"""Error answers beyond one sentence: 422 naming the field, and `Retry-After` on 429 and 503.

A request the service cannot read answers 422 with one sentence naming the field, Chinese first.

FastAPI's own 422 body is a list of pydantic errors in English. The service answers
`{"detail": "参数 limit 必须是 1 到 200 的整数 (limit must be an integer from 1 to 200)",
"errors": [...]}`: the sentence reads the first error against the field's own
declaration (its type and bounds), and `errors` keeps every error for programs
(where, pydantic's type and message, and the same sentence), never the input sent.
`use_validation_schema` makes the OpenAPI document say so.
"""

from __future__ import annotations

import re
import types
from collections.abc import Mapping, Sequence
from typing import Any, Union, get_args, get_origin

from fastapi import FastAPI, Request
from fastapi.dependencies.utils import get_flat_params
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from api.schemas import (
    INDUSTRY_PATTERN,
    MODEL_ID_PATTERN,
    USCC_PATTERN,
    FieldErrorPublic,
    ValidationErrorPublic,
)
from discovery.vocabulary import REGION_PATTERN

#: seconds a client should wait after a 503 (a store, disk or database an operator has to
#: look at: asking again at once does not help)
RETRY_UNAVAILABLE = 60
UNAVAILABLE_HEADERS = {"Retry-After": str(RETRY_UNAVAILABLE)}
#: the `Retry-After` header as the OpenAPI document declares it on every 429 and 503
RETRY_AFTER: dict[str, Any] = {
    "Retry-After": {
        "description": "seconds to wait before asking again",
        "schema": {"type": "integer", "minimum": 1},
    }
}
#: how each place of a request is named in Chinese (English says the name alone)
PLACES = {
    "query": "参数",
    "path": "路径参数",
    "header": "请求头",
    "cookie": "Cookie",
    "body": "字段",
}
#: patterns the service declares, in words
PATTERNS: dict[str, tuple[str, str]] = {
    USCC_PATTERN: (
        "18 位统一社会信用代码（数字和大写字母）",
        "an 18-character unified social credit code of digits and capital letters",
    ),
    REGION_PATTERN: ("2、4 或 6 位数字的地区代码前缀", "a region-code prefix of 2, 4 or 6 digits"),
    INDUSTRY_PATTERN: (
        "行业代码前缀（一个字母加至多 4 位数字，如 C 或 C39）",
        "an industry-code prefix: a letter and up to 4 digits, such as C or C39",
    ),
    MODEL_ID_PATTERN: (
        "模型编号，如 specialized_sme-20251231T120000-0",
        "a model id such as specialized_sme-20251231T120000-0",
    ),
}
_CHOICES = re.compile(r"\^\(([\w-]+(?:\|[\w-]+)*)\)\$")
_NUMERIC = {
    "int_parsing",
    "int_type",
    "int_from_float",
    "float_parsing",
    "float_type",
    "finite_number",
    "greater_than",
    "greater_than_equal",
    "less_than",
    "less_than_equal",
}
_DATE = {
    "date_parsing",
    "date_type",
    "date_from_datetime_parsing",
    "date_from_datetime_inexact",
}
#: bounds a number may declare, in words
_BOUNDS = {
    "ge": ("不小于", "at least"),
    "gt": ("大于", "greater than"),
    "le": ("不大于", "at most"),
    "lt": ("小于", "less than"),
}
#: error type -> (Chinese, English) of what the field must be, `{n}` from pydantic's context
_RULES: dict[str, tuple[str, str]] = {
    "missing": ("必须填写", "is required"),
    "bool_parsing": ("必须是 true 或 false", "must be true or false"),
    "bool_type": ("必须是 true 或 false", "must be true or false"),
    "string_type": ("必须是文本", "must be text"),
    "list_type": ("必须是列表", "must be a list"),
    "dict_type": ("必须是 JSON 对象", "must be a JSON object"),
    "model_type": ("必须是 JSON 对象", "must be a JSON object"),
    "model_attributes_type": ("必须是 JSON 对象", "must be a JSON object"),
    "extra_forbidden": ("不被接受", "is not accepted"),
    "string_too_short": (
        "至少要有 {min_length} 个字符",
        "must have at least {min_length} character(s)",
    ),
    "string_too_long": (
        "不得超过 {max_length} 个字符",
        "must have at most {max_length} character(s)",
    ),
    "too_short": ("至少要有 {min_length} 项", "must hold at least {min_length} item(s)"),
    "too_long": ("不得超过 {max_length} 项", "must hold at most {max_length} item(s)"),
    "literal_error": ("必须是 {expected} 之一", "must be one of {expected}"),
    "enum": ("必须是 {expected} 之一", "must be one of {expected}"),
}


async def validation_failed(request: Request, exc: Exception) -> JSONResponse:
    """The 422 answer: one sentence for the first error, and every error beside it."""
    assert isinstance(exc, RequestValidationError)
    route = request.scope.get("route")
    fields = _Fields(route if isinstance(route, APIRoute) else None)
    raw = list(exc.errors()) or [{"loc": (), "type": "invalid", "msg": "invalid request"}]
    said = [sentence(e, fields) for e in raw]
    errors = [
        FieldErrorPublic(
            loc=[p if isinstance(p, int) else str(p) for p in e.get("loc", ())],
            type=str(e.get("type", "")),
            msg=str(e.get("msg", "")),
            detail=f"{zh} {en}",
        )
        for e, (zh, en) in zip(raw, said, strict=True)
    ]
    zh, en = said[0]
    if len(said) > 1:
        more = len(said) - 1
        zh, en = f"{zh}，另有 {more} 处错误见 errors", f"{en[:-1]}; {more} more in errors)"
    body = ValidationErrorPublic(detail=f"{zh} {en}", errors=errors)
    return JSONResponse(body.model_dump(), status_code=422)


def sentence(error: Mapping[str, Any], fields: _Fields | None = None) -> tuple[str, str]:
    """(Chinese, "(English)") of one pydantic error, naming the field."""
    where, path = _split(error.get("loc", ()))
    kind = str(error.get("type", ""))
    ctx = error.get("ctx") or {}
    msg = str(error.get("msg", "")).removeprefix("Value error, ").rstrip(".")
    if kind == "json_invalid":
        return "请求体不是有效的 JSON", "(the request body is not valid JSON)"
    name = _name(path)
    zh_name, en_name = (f"{PLACES[where]} {name}", name) if path else ("请求体", "the request body")
    field = fields.find(where, path) if fields is not None else None
    rule = _rule(kind, ctx, field)
    if rule is None:  # a rule of our own (e.g. a decision date in the future): its message says it
        en_text = msg if name and msg.startswith(name) else f"{en_name} is not valid: {msg}"
        return f"{zh_name} 无效", f"({en_text})"
    zh, en = rule
    return _join(zh_name, zh), f"({en_name} {en})"


def _rule(kind: str, ctx: Mapping[str, Any], field: FieldInfo | None) -> tuple[str, str] | None:
    """(Chinese, English) of what the field must be, or None for an error type not known here."""
    if kind in _NUMERIC:
        return _numeric(kind, ctx, field)
    if kind in _DATE:
        return "必须是 YYYY-MM-DD 格式的日期", "must be a date written YYYY-MM-DD"
    if kind == "string_pattern_mismatch":
        zh, en = _pattern(str(ctx.get("pattern", "")))
        return _join("必须是", zh), f"must be {en}"
    if kind not in _RULES:
        return None
    zh, en = _RULES[kind]
    values = {k: _number(v) for k, v in ctx.items()}
    try:
        zh, en = zh.format(**values).replace("' or '", "'、'"), en.format(**values)
    except (KeyError, IndexError):  # pydantic's context changed: no rule rather than a wrong one
        return None
    count = values.get("min_length", values.get("max_length"))
    return zh, en.replace("(s)", "" if count == "1" else "s")


def _numeric(kind: str, ctx: Mapping[str, Any], field: FieldInfo | None) -> tuple[str, str]:
    """Say "an integer from 1 to 200" when the field declares both bounds, else what is known."""
    integer = kind.startswith("int") or (field is not None and _is(field, int))
    zh_kind, en_kind = ("整数", "an integer") if integer else ("数", "a number")
    bounds = {k: v for k, v in ctx.items() if k in _BOUNDS}
    bounds.update(_bounds(field) if field is not None else {})
    if "ge" in bounds and "le" in bounds:
        low, high = _number(bounds["ge"]), _number(bounds["le"])
        return f"必须是 {low} 到 {high} 的{zh_kind}", f"must be {en_kind} from {low} to {high}"
    said = [(zh, en, _number(bounds[k])) for k, (zh, en) in _BOUNDS.items() if k in bounds]
    if not said:
        return f"必须是{zh_kind}", f"must be {en_kind}"
    zh = " 且".join(f"{word} {value}" for word, _, value in said)
    en = " and ".join(f"{word} {value}" for _, word, value in said)
    return f"必须是{zh} 的{zh_kind}", f"must be {en_kind} {en}"


def _pattern(pattern: str) -> tuple[str, str]:
    if pattern in PATTERNS:
        return PATTERNS[pattern]
    choices = _CHOICES.fullmatch(pattern)
    if choices:
        names = choices.group(1).split("|")
        return f"{'、'.join(names)} 之一", f"one of {', '.join(names)}"
    return f"符合格式 {pattern} 的文本", f"text of the form {pattern}"


def _bounds(field: FieldInfo) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for item in field.metadata:
        for key in _BOUNDS:
            value = getattr(item, key, None)
            if value is not None:
                found[key] = value
    return found


def _is(field: FieldInfo, kind: type) -> bool:
    annotation = field.annotation
    if get_origin(annotation) in (Union, types.UnionType):
        return kind in get_args(annotation)
    return annotation is kind


def _number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _join(before: str, after: str) -> str:
    """Chinese text runs on; a space stands between it and Latin letters or digits."""
    return f"{before} {after}" if after[:1].isascii() or before[-1:].isascii() else before + after


def _split(loc: Sequence[Any]) -> tuple[str, list[Any]]:
    if loc and loc[0] in PLACES:
        return str(loc[0]), list(loc[1:])
    return "body", list(loc)


def _name(path: Sequence[Any]) -> str:
    """`uscc[2]` for the third item of `uscc`, `a.b` for a nested field."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


class _Fields:
    """The declarations of a route's parameters and body fields, looked up by an error's place."""

    def __init__(self, route: APIRoute | None) -> None:
        self.params: list[Any] = []
        self.body: Any = None
        if route is not None:
            try:
                self.params = get_flat_params(route.dependant)
            except (AttributeError, TypeError):  # an internal that moved: sentences lose bounds
                self.params = []
            self.body = route.body_field

    def find(self, where: str, path: Sequence[Any]) -> FieldInfo | None:
        """The declaration of `path[0]`, if the error is about that field itself."""
        if len(path) != 1 or not isinstance(path[0], str):
            return None
        name = path[0]
        if where == "body":
            model = self.body.field_info.annotation if self.body is not None else None
            if isinstance(model, type) and issubclass(model, BaseModel):
                for key, info in model.model_fields.items():
                    if name in (key, info.alias):
                        return info
            return None
        for param in self.params:
            declared = getattr(param, "field_info", None)
            if isinstance(declared, FieldInfo) and name in (param.name, param.alias):
                return declared
        return None


def use_validation_schema(app: FastAPI) -> None:
    """Make `app.openapi()` describe 422 answers as `ValidationErrorPublic`.

    FastAPI adds a 422 to every operation that takes parameters or a body, with its
    own `HTTPValidationError`; the same operations keep their 422, described truly.
    """
    build = app.openapi
    prefix = "#/components/schemas/"

    def openapi() -> dict[str, Any]:
        document = build()
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        if "HTTPValidationError" not in schemas:
            return document
        ours = ValidationErrorPublic.model_json_schema(ref_template=prefix + "{model}")
        schemas.update(ours.pop("$defs", {}))
        schemas[ValidationErrorPublic.__name__] = ours
        for name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(name, None)
        for operations in document.get("paths", {}).values():
            for operation in operations.values():
                answer = operation.get("responses", {}).get("422")
                if answer is not None:
                    answer["description"] = (
                        "参数有误 a parameter or field is wrong (detail names it)"
                    )
                    answer["content"] = {
                        "application/json": {
                            "schema": {"$ref": prefix + ValidationErrorPublic.__name__}
                        }
                    }
        return document

    app.openapi = openapi  # type: ignore[method-assign]


__all__ = [
    "RETRY_AFTER",
    "RETRY_UNAVAILABLE",
    "UNAVAILABLE_HEADERS",
    "sentence",
    "use_validation_schema",
    "validation_failed",
]
