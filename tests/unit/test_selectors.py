"""Selectors parse and match like apimachinery's labels.Parse and fields.ParseSelector."""

from __future__ import annotations

import pytest

from kontinue.kube.selectors import FieldSelector, LabelSelector, Requirement, SelectorError

# -- label selectors: parsing ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a=b", ("a", "=", ("b",))),
        ("a==b", ("a", "=", ("b",))),
        ("a!=b", ("a", "!=", ("b",))),
        ("a in (x,y)", ("a", "in", ("x", "y"))),
        ("a notin (x)", ("a", "notin", ("x",))),
        ("a", ("a", "exists", ())),
        ("!a", ("a", "!exists", ())),
        ("a>5", ("a", "gt", ("5",))),
        ("a<-5", None),  # "-5" is an integer but not a valid label value
        ("a<5", ("a", "lt", ("5",))),
        ("a=", ("a", "=", ("",))),
        ("a==", ("a", "=", ("",))),
        ("a in ()", ("a", "in", ("",))),
        ("a in (,)", ("a", "in", ("",))),
        ("a in (y,,x)", ("a", "in", ("", "x", "y"))),
        ("a in (x,x)", ("a", "in", ("x",))),
        ("example.com/app-name=v1.2_3", ("example.com/app-name", "=", ("v1.2_3",))),
        ("in in (in)", ("in", "in", ("in",))),
        ("notin notin (notin)", ("notin", "notin", ("notin",))),
    ],
)
def test_parse_single_requirement(
    text: str, expected: tuple[str, str, tuple[str, ...]] | None
) -> None:
    if expected is None:
        with pytest.raises(SelectorError):
            LabelSelector.parse(text)
        return
    (req,) = LabelSelector.parse(text).requirements
    assert (req.key, req.operator, req.values) == expected


def test_parse_empty_selector_matches_everything() -> None:
    for text in ("", "   ", "\t\n"):
        selector = LabelSelector.parse(text)
        assert selector.empty
        assert selector.requirements == ()
        assert selector.matches({"any": "thing"})
        assert selector.matches(None)
        assert str(selector) == ""


def test_parse_is_whitespace_tolerant_and_sorts_by_key() -> None:
    selector = LabelSelector.parse("  zone = eu ,\tapp in ( web , api ),!legacy , tier\n")
    assert [r.key for r in selector.requirements] == ["app", "legacy", "tier", "zone"]
    assert str(selector) == "app in (api,web),!legacy,tier,zone=eu"


def test_parse_keeps_every_requirement_for_the_same_key() -> None:
    selector = LabelSelector.parse("a!=x,a!=y")
    assert [str(r) for r in selector.requirements] == ["a!=x", "a!=y"]
    assert selector.matches({"a": "z"})
    assert not selector.matches({"a": "y"})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a=b c", "found 'c', expected: ',' or 'end of string'"),
        (",a", "found ',', expected: !, identifier, or 'end of string'"),
        ("a,", "found '', expected: identifier after ','"),
        ("a,,b", "found ',', expected: identifier after ','"),
        ("=a", "found '=', expected: !, identifier, or 'end of string'"),
        ("!a=b", "found '=', expected: ',' or 'end of string'"),
        ("a in x", "unable to parse requirement: found 'x' expected: '('"),
        ("a in (b", "unable to parse requirement: found '', expected: ',' or ')'"),
        ("a in (b c)", "unable to parse requirement: found 'c', expected: ',' or ')'"),
        ("a in (=)", "unable to parse requirement: found '=', expected: ',', ')' or identifier"),
        ("a=(", "unable to parse requirement: found '(', expected: identifier"),
        ("a>=5", "unable to parse requirement: found '=', expected: identifier"),
        ("a)b", "unable to parse requirement: found ')', expected: in, notin, =, ==, !=, gt, lt"),
        ("!!a", "unable to parse requirement: found '!', expected: identifier"),
        ("a>b", "for 'Gt', 'Lt' operators, the value must be an integer"),
        ("a>99999999999999999999", "for 'Gt', 'Lt' operators, the value must be an integer"),
        ("-a", 'unable to parse requirement: <nil>: Invalid value: "-a": name part must consist'),
        ("a/b/c", "a valid label key must consist of alphanumeric characters"),
        ("/a", "prefix part must be non-empty"),
        ("a/", "name part must be non-empty"),
        ("Example.com/a", "prefix part a lowercase RFC 1123 subdomain"),
        ("a" * 64, "name part must be no more than 63 bytes"),
        ("a=" + "b" * 64, 'values[0][a]: Invalid value: "' + "b" * 64 + '": must be no more'),
        ("a=-b", "a valid label must be an empty string or consist of alphanumeric characters"),
        ("a in (x,-y)", 'values[0][a]: Invalid value: "-y"'),  # values are sorted first
    ],
)
def test_parse_errors_read_like_the_apiserver(text: str, message: str) -> None:
    with pytest.raises(SelectorError) as caught:
        LabelSelector.parse(text)
    assert message in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_long_prefix_is_accepted_up_to_253_bytes() -> None:
    prefix = ".".join(["a" * 63] * 4)[:253]
    assert LabelSelector.parse(f"{prefix}/name").requirements[0].key == f"{prefix}/name"
    with pytest.raises(SelectorError, match="no more than 253 bytes"):
        LabelSelector.parse(f"{prefix}a/name")


def test_nul_byte_ends_the_input_like_the_go_lexer() -> None:
    assert str(LabelSelector.parse("a=b\x00 garbage (")) == "a=b"


# -- label selectors: matching -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "labels", "expected"),
    [
        ("a=b", {"a": "b"}, True),
        ("a=b", {"a": "c"}, False),
        ("a=b", {}, False),
        ("a==b", {"a": "b"}, True),
        ("a!=b", {"a": "c"}, True),
        ("a!=b", {"a": "b"}, False),
        ("a!=b", {}, True),
        ("a in (x,y)", {"a": "y"}, True),
        ("a in (x,y)", {"a": "z"}, False),
        ("a in (x,y)", {}, False),
        ("a notin (x,y)", {"a": "z"}, True),
        ("a notin (x,y)", {"a": "x"}, False),
        ("a notin (x,y)", {}, True),
        ("a", {"a": ""}, True),
        ("a", {"b": "a"}, False),
        ("!a", {"b": "a"}, True),
        ("!a", {"a": "x"}, False),
        ("a>5", {"a": "6"}, True),
        ("a>5", {"a": "5"}, False),
        ("a>5", {"a": "x"}, False),
        ("a>5", {}, False),
        ("a<5", {"a": "-10"}, True),
        ("a<5", {"a": "5"}, False),
        ("a>-0", None, None),  # "-0" is not a valid label value
        ("a=", {"a": ""}, True),
        ("a=", {}, False),
        ("a in ()", {"a": ""}, True),
        ("a=b,c in (d,e),!f", {"a": "b", "c": "e"}, True),
        ("a=b,c in (d,e),!f", {"a": "b", "c": "e", "f": "1"}, False),
    ],
)
def test_matches(text: str, labels: dict[str, str] | None, expected: bool | None) -> None:
    if expected is None:
        with pytest.raises(SelectorError):
            LabelSelector.parse(text)
        return
    assert LabelSelector.parse(text).matches(labels) is expected


def test_matches_none_labels_as_empty() -> None:
    assert LabelSelector.parse("!a").matches(None)
    assert not LabelSelector.parse("a").matches(None)


# -- label selectors: canonical form and round trip --------------------------------------------


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("b=1,a=2", "a=2,b=1"),
        ("a==b", "a=b"),
        ("x in (foo,,baz),y,z notin ()", "x in (,baz,foo),y,z notin ()"),
        ("a in (c, b, a)", "a in (a,b,c)"),
        ("!a , b>1 , c<2", "!a,b>1,c<2"),
        ("a in (,)", "a in ()"),
        ("k8s.io/x notin (q)", "k8s.io/x notin (q)"),
    ],
)
def test_string_form_is_canonical_and_round_trips(text: str, canonical: str) -> None:
    selector = LabelSelector.parse(text)
    assert str(selector) == canonical
    assert LabelSelector.parse(str(selector)) == selector


def test_selectors_are_hashable_values() -> None:
    assert LabelSelector.parse("a=b,c") == LabelSelector.parse("c , a==b")
    assert len({LabelSelector.parse("a=b"), LabelSelector.parse("a==b")}) == 1


# -- label selectors: metav1.LabelSelector -----------------------------------------------------


def test_from_match_labels_and_expressions() -> None:
    selector = LabelSelector.from_match(
        {"app": "web", "tier": "front"},
        [
            {"key": "env", "operator": "In", "values": ["prod", "staging"]},
            {"key": "zone", "operator": "NotIn", "values": ["eu"]},
            {"key": "owner", "operator": "Exists"},
            {"key": "legacy", "operator": "DoesNotExist", "values": []},
        ],
    )
    assert str(selector) == "app=web,env in (prod,staging),!legacy,owner,tier=front,zone notin (eu)"
    good = {"app": "web", "tier": "front", "env": "prod", "owner": "me"}
    assert selector.matches(good)
    assert not selector.matches({**good, "legacy": "1"})
    assert not selector.matches({**good, "zone": "eu"})
    assert not selector.matches({**good, "env": "dev"})
    assert LabelSelector.parse(str(selector)) == selector


def test_from_match_empty_matches_everything() -> None:
    for labels, expressions in ((None, None), ({}, []), (None, [])):
        selector = LabelSelector.from_match(labels, expressions)
        assert selector.empty
        assert selector.matches({"x": "y"})


@pytest.mark.parametrize(
    ("labels", "expressions", "message"),
    [
        (None, [{"key": "a", "operator": "Gt", "values": ["1"]}], '"Gt" is not a valid label'),
        (None, [{"key": "a", "operator": "In", "values": []}], "values set can't be empty"),
        (None, [{"key": "a", "operator": "Exists", "values": ["x"]}], "values set must be empty"),
        (None, [{"operator": "Exists"}], "expression key"),
        ({"a": "-bad"}, None, 'values[0][a]: Invalid value: "-bad"'),
        ({"-bad": "x"}, None, 'key: Invalid value: "-bad"'),
    ],
)
def test_from_match_validates(
    labels: dict[str, str] | None, expressions: list[dict[str, object]] | None, message: str
) -> None:
    with pytest.raises(SelectorError) as caught:
        LabelSelector.from_match(labels, expressions)
    assert message in str(caught.value)


def test_requirement_create_validates_like_new_requirement() -> None:
    assert Requirement.create("a", "==", ["b"]) == Requirement("a", "=", ("b",))
    assert str(Requirement.create("a", "gt", ["10"])) == "a>10"
    with pytest.raises(SelectorError, match="exact-match compatibility requires one single value"):
        Requirement.create("a", "=", ["b", "c"])
    with pytest.raises(SelectorError, match="exactly one value is required"):
        Requirement.create("a", "lt", [])
    with pytest.raises(SelectorError, match='operator: Unsupported value: "~"'):
        Requirement.create("a", "~", ["b"])
    with pytest.raises(SelectorError, match=r"^\[key: .*, values\[0\]\[-k\]: .*\]$"):
        Requirement.create("-k", "=", ["-v"])


# -- field selectors ---------------------------------------------------------------------------


def test_field_parse_and_match() -> None:
    selector = FieldSelector.parse("status.phase!=Running,metadata.name=x")
    assert selector.requirements == (
        ("metadata.name", "=", "x"),
        ("status.phase", "!=", "Running"),
    )
    assert selector.fields() == {"metadata.name", "status.phase"}
    assert selector.matches({"metadata.name": "x", "status.phase": "Pending"})
    assert not selector.matches({"metadata.name": "x", "status.phase": "Running"})
    assert not selector.matches({"metadata.name": "y", "status.phase": "Pending"})
    assert str(selector) == "metadata.name=x,status.phase!=Running"


@pytest.mark.parametrize(
    ("text", "requirements"),
    [
        ("", ()),
        ("a==b", (("a", "=", "b"),)),
        ("a=b,,c=d,", (("a", "=", "b"), ("c", "=", "d"))),
        ("a=", (("a", "=", ""),)),
        ("=", ()),  # empty on both sides: dropped like the server's Transform does
        ("=x", (("", "=", "x"),)),
        ("a=!b", (("a", "=", "!b"),)),
        ("a!==b", None),  # "!=" wins, leaving an unescaped "=" in the value
        ("a==b=", None),
        (r"a=b\,c", (("a", "=", "b,c"),)),
        (r"a=x\=y\\z", (("a", "=", "x=y\\z"),)),
        ("a = b", (("a ", "=", " b"),)),  # no trimming, like the server
        ("b=1,a=2", (("a", "=", "2"), ("b", "=", "1"))),
        ("spec.nodeName!=", (("spec.nodeName", "!=", ""),)),
    ],
)
def test_field_parse(text: str, requirements: tuple[tuple[str, str, str], ...] | None) -> None:
    if requirements is None:
        with pytest.raises(SelectorError):
            FieldSelector.parse(text)
        return
    assert FieldSelector.parse(text).requirements == requirements


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("foo", "invalid selector: 'foo'; can't understand 'foo'"),
        ("a=b,c", "invalid selector: 'a=b,c'; can't understand 'c'"),
        (r"a=b\x", r"invalid field selector: invalid escape sequence: \x"),
        ("a=b\\", "invalid field selector: invalid escape sequence: \\"),
        ("a=b=c", "invalid field selector: unescaped character in value: '='"),
    ],
)
def test_field_parse_errors(text: str, message: str) -> None:
    with pytest.raises(SelectorError) as caught:
        FieldSelector.parse(text)
    assert str(caught.value) == message


def test_field_missing_values_compare_as_empty() -> None:
    assert FieldSelector.parse("spec.nodeName=").matches({})
    assert not FieldSelector.parse("spec.nodeName!=").matches({})
    assert FieldSelector.parse("spec.nodeName!=n1").matches({})
    empty = FieldSelector.parse("")
    assert empty.empty
    assert empty.matches({"anything": "x"})
    assert empty.fields() == set()


@pytest.mark.parametrize(
    "value", ["plain", "with,comma", "with=equals", "back\\slash", "all\\,=,\\", ""]
)
def test_field_escaping_round_trips(value: str) -> None:
    selector = FieldSelector((("metadata.name", "=", value), ("x", "!=", value)))
    text = str(selector)
    assert FieldSelector.parse(text) == selector
    assert selector.matches({"metadata.name": value, "x": value + "-"})


def test_field_double_equals_is_equals() -> None:
    assert FieldSelector.parse("a==b") == FieldSelector.parse("a=b")
    assert str(FieldSelector.parse("a==b")) == "a=b"
