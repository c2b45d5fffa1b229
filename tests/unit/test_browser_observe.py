"""The page observation as text: element lines, the token budget, the shortlist."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tools.browser.base import Element, PageState, Tab
from tools.browser.observe import element_line, estimate_tokens, render, shortlist


def page(*elements: Element, text: str = "", notes: tuple[str, ...] = ()) -> PageState:
    return PageState(
        url="http://127.0.0.1:8000/form",
        title="Sign up",
        elements=elements,
        text=text,
        tabs=(Tab(1, "Sign up", "http://127.0.0.1:8000/form", True),),
        notes=notes,
    )


FORM = (
    Element(1, "link", "Home"),
    Element(2, "textbox", "Email", kind="email", value="a@b.org", states=("required",)),
    Element(3, "combobox", "Country", value="France", options=("France", "Germany", "... 4 more")),
    Element(4, "checkbox", "I agree", states=("not checked",)),
    Element(5, "button", "Sign up"),
    Element(6, "button", "Delete account", states=("disabled",)),
)


def test_element_lines() -> None:
    assert element_line(Element(7, "button", "Submit")) == '[7] button "Submit"'
    assert element_line(FORM[1]) == '[2] textbox "Email" (email) value="a@b.org" required'
    assert (
        element_line(FORM[2])
        == '[3] combobox "Country" value="France" options: France | Germany | ... 4 more'
    )
    assert element_line(Element(9, "link", "", href="/next")) == "[9] link (to /next)"
    assert element_line(Element(1, "button", 'say "hi"')) == '[1] button "say \\"hi\\""'


def test_render_lists_everything_of_a_small_page_in_index_order() -> None:
    text = "Create your account\nEmail\nCountry\nSign up\nWe never share your email."
    view = render(page(*FORM, text=text, notes=("the page asked 'Leave?'; answered Cancel",)),
                  budget_tokens=700, goal="Sign up with my email")  # fmt: skip
    lines = view.splitlines()
    assert lines[:5] == [
        "URL: http://127.0.0.1:8000/form",
        "Title: Sign up",
        "Notes:",
        "- the page asked 'Leave?'; answered Cancel",
        "Elements:",
    ]
    assert lines[5:11] == [element_line(e) for e in FORM]
    # Lines that only repeat element names are left out of the text.
    assert lines[11:14] == ["Text:", "Create your account", "We never share your email."]
    assert lines[14] == "Most related to the goal:"
    assert view == render(page(*FORM, text=text, notes=("the page asked 'Leave?'; answered Cancel",)),
                          budget_tokens=700, goal="Sign up with my email")  # fmt: skip


def test_tabs_are_shown_when_there_are_several() -> None:
    state = page(*FORM)
    two = PageState(state.url, state.title, state.elements, "", (
        Tab(1, "Sign up", state.url, False), Tab(2, "Terms", "http://x/terms", True)))  # fmt: skip
    assert 'Tabs: 1 "Sign up" | 2 "Terms" (current)' in render(two, budget_tokens=500)
    assert "Tabs:" not in render(state, budget_tokens=500)


def test_shortlist_prefers_names_quoted_phrases_and_options() -> None:
    assert [e.index for e in shortlist(FORM, 'Choose "Germany" as country')] == [3]
    assert {e.index for e in shortlist(FORM, "Type my email and sign up")[:2]} == {2, 5}
    assert shortlist(FORM, "") == []
    many = tuple(Element(i, "button", f"Add product {i} to cart") for i in range(1, 60))
    assert shortlist(many, "Add product 42 to the cart")[0].index == 42


def test_a_short_quoted_phrase_counts_as_a_whole_name_only() -> None:
    words = ("sit", "amet", "a.", "a bit", "OK", "Okay")
    links = tuple(Element(i, "link", w) for i, w in enumerate(words, start=1))
    assert [e.index for e in shortlist(links, 'Click on the link "a."')] == [3]
    assert [e.index for e in shortlist(links, 'Click "ok"')] == [5]


def test_a_role_alone_counts_only_where_it_is_nearly_unique() -> None:
    one_box = (Element(1, "textbox", "q"), *(Element(i, "link", f"l{i}") for i in range(2, 9)))
    assert [e.index for e in shortlist(one_box, "type hello")] == [1]
    links = tuple(Element(i, "link", f"l{i}") for i in range(1, 9))
    assert shortlist(links, "click something") == []


def test_a_big_page_is_cut_to_the_budget_keeping_the_shortlist_and_what_is_in_view() -> None:
    elements = tuple(
        Element(i, "button", f"Add product {i} to cart", in_view=i < 20) for i in range(1, 301)
    )
    view = render(page(*elements, text="word " * 5000), budget_tokens=400, goal="add product 250")
    assert estimate_tokens(view) <= 400
    assert '[250] button "Add product 250 to cart"' in view.split("Text:")[0]
    assert '[1] button "Add product 1 to cart"' in view
    assert "more elements not shown" in view
    assert "[... more text]" in view


element_strategy = st.builds(
    Element,
    index=st.integers(1, 500),
    role=st.sampled_from(["button", "link", "textbox", "checkbox", "combobox"]),
    name=st.text(max_size=80),
    value=st.text(max_size=60),
    states=st.lists(st.sampled_from(["checked", "disabled", "focused"]), max_size=2).map(tuple),
    options=st.lists(st.text(max_size=40), max_size=9).map(tuple),
    in_view=st.booleans(),
)


@settings(max_examples=150, deadline=None)
@given(
    elements=st.lists(element_strategy, max_size=120, unique_by=lambda e: e.index),
    text=st.text(max_size=6000),
    budget=st.integers(250, 1500),
    goal=st.text(max_size=80),
)
def test_every_observation_fits_its_budget(
    elements: list[Element], text: str, budget: int, goal: str
) -> None:
    elements.sort(key=lambda e: e.index)
    view = render(page(*elements, text=text), budget_tokens=budget, goal=goal)
    assert estimate_tokens(view) <= budget
