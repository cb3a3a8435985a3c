"""The placeholder parser and renderer: names, defaults, escapes, and nothing ever evaluated."""

import re

import pytest

from mailings import placeholders
from mailings.placeholders import MissingValue, Placeholder, TemplateError, parse


class TestParse:
    def test_it_splits_literal_text_and_placeholders(self):
        template = parse("Hi {first_name|customer}, your code {contract}; {phone_number}")
        assert template.pieces == (
            "Hi ",
            Placeholder("first_name", "customer"),
            ", your code ",
            Placeholder("contract"),
            "; ",
            Placeholder("phone_number"),
        )
        assert template.attribute_names == ("first_name", "contract")
        assert template.required_attributes == ("contract",)
        assert template.field_names == ("phone_number",)

    def test_doubled_braces_are_literal_braces(self):
        template = parse("{{first_name}} costs {{10}} {tag}")
        assert not template.attribute_names
        assert template.render({"tag": "vip"}) == "{first_name} costs {10} vip"

    def test_a_text_without_placeholders_is_one_piece(self):
        assert not parse("Plain text.").has_placeholders

    @pytest.mark.parametrize(
        "text",
        ["{__class__}", "{0.__class__}", "{a.b}", "{a[0]}", "{Name}", "{}", "{ }", "{1abc}", "{a-b}", "{x!r}"],
    )
    def test_anything_but_a_plain_name_is_refused(self, text):
        with pytest.raises(TemplateError) as caught:
            parse(text)
        assert caught.value.problems == [
            f"{text} is not a placeholder: a name is lowercase letters, digits and _ (at most 40, not starting "
            "with a digit or __), optionally followed by |default text"
        ]

    @pytest.mark.parametrize(("text", "where"), [("a { b", "{ at character 3"), ("a } b", "} at character 3")])
    def test_a_lone_brace_is_refused_saying_how_to_write_it(self, text, where):
        with pytest.raises(TemplateError, match=f"a lone {where}: write"):
            parse(text)

    def test_every_problem_is_named(self):
        with pytest.raises(TemplateError) as caught:
            parse("{a.b} and {c[0]} and {ok}")
        assert len(caught.value.problems) == 2

    def test_a_long_default_is_refused(self):
        with pytest.raises(TemplateError, match=re.escape("the default of {a|...} is 161 characters")):
            parse("{a|" + "x" * 161 + "}")

    def test_a_name_of_41_characters_is_refused(self):
        parse("{" + "a" * 40 + "}")
        with pytest.raises(TemplateError):
            parse("{" + "a" * 41 + "}")


class TestRender:
    def test_a_lacking_or_empty_attribute_takes_the_default(self):
        template = parse("{first_name|customer}!")
        assert template.render({"first_name": "Anna"}) == "Anna!"
        assert template.render({}) == "customer!"
        assert template.render({"first_name": ""}) == "customer!"

    def test_a_lacking_attribute_without_a_default_cannot_be_rendered(self):
        with pytest.raises(MissingValue) as caught:
            parse("Contract {contract}").render({"first_name": "Anna"})
        assert caught.value.name == "contract"

    def test_an_empty_field_renders_empty_or_its_default(self):
        assert parse("[{tag}]").render({"tag": ""}) == "[]"
        assert parse("[{tag|none}]").render({"tag": ""}) == "[none]"

    def test_values_are_inserted_as_text_never_interpreted(self):
        template = parse("{a}")
        assert template.render({"a": "{b} {{ {__class__}"}) == "{b} {{ {__class__}"

    def test_the_skeleton_has_each_default(self):
        assert parse("Hi {first_name|customer} {contract} {tag}").skeleton() == "Hi customer  "


class TestAttributes:
    def test_numbers_become_text_and_empty_values_are_dropped(self):
        assert placeholders.normalize_attributes({"a": 5, "b": " x ", "c": "", "d": 1.5}) == {
            "a": "5",
            "b": "x",
            "d": "1.5",
        }

    @pytest.mark.parametrize(
        ("value", "problem"),
        [
            ({"Bad": "x"}, "'Bad' is not a valid attribute name"),
            ({"tag": "x"}, "'tag' is a client field, not an attribute"),
            ({"a": True}, "the value of 'a' must be text (or a number), not bool"),
            ({"a": None}, "the value of 'a' must be text (or a number), not NoneType"),
            ({"a": {"b": 1}}, "the value of 'a' must be text (or a number), not dict"),
            ({"a": "x" * 201}, "the value of 'a' is 201 characters; at most 200"),
            ([1], "attributes must be an object of name: text, not list"),
            ({f"k{i}": "v" for i in range(21)}, "21 attributes; at most 20"),
        ],
    )
    def test_it_refuses_naming_the_key(self, value, problem):
        with pytest.raises(placeholders.AttributesError) as caught:
            placeholders.normalize_attributes(value)
        assert caught.value.problems[0].startswith(problem)
