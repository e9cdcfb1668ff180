"""The explorer's filters, keyset paging and CSV export, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import event

from tests.explore.helpers import respond, setup_surveys
from voc.explore import service
from voc.explore.export import csv_chunks, safe_cell
from voc.explore.highlight import segments
from voc.explore.service import ResponseFilters


@pytest.fixture
def known(session, run_jobs):
    """Five responses with known words and scores, analysed."""
    setup_surveys(session)
    # Made out of time order (ids do not follow time), but each customer's answers oldest first.
    rows = {
        "lovely": respond(session, [("nps", 10), ("why", "Lovely packaging, it looked beautiful. I will recommend "
                                                        "you to friends.")], contact="CUS-2", days_ago=2),
        "refund": respond(session, [("csat", 2), ("ces", 6), ("what", "I had to call four times to get a refund."),
                                    ("fix", "Make the website clearer, I was confused.")],
                          touchpoint="ticket_closed", contact="CUS-1", days_ago=3),
        "late": respond(session, [("nps", 2), ("why", "The delivery was three days late and the driver was rude.")],
                        contact="CUS-1", days_ago=1),
        "odd": respond(session, [("nps", 10), ("why", "Terrible, awful, the worst service. I hate it: 100% _bad_.")],
                       contact="CUS-3", days_ago=4),
        "old": respond(session, [("nps", 8), ("why", "Fine.")], contact="CUS-4", days_ago=100),
    }
    run_jobs()
    return {name: r.id for name, r in rows.items()}


def ids(session, **params):
    found = service.list_responses(session, ResponseFilters.from_params(params), limit=100)
    return [r.id for r in found.items]


def test_each_filter_narrows_the_list(session, known):
    k = known
    assert ids(session, period="365d") == [k["late"], k["lovely"], k["refund"], k["odd"], k["old"]]
    assert ids(session) == [k["late"], k["lovely"], k["refund"], k["odd"]]
    assert ids(session, period="7d", survey="support") == [k["refund"]]
    assert ids(session, touchpoint="order_delivered", period="7d") == [k["late"], k["lovely"], k["odd"]]
    assert ids(session, band="detractor") == [k["late"]]
    assert ids(session, band="promoter") == [k["lovely"], k["odd"]]
    assert ids(session, band="passive", period="365d") == [k["old"]]
    assert ids(session, band="low") == [k["refund"]]  # CSAT 2
    assert ids(session, band="high") == [k["refund"]]  # CES 6
    assert ids(session, band="mid") == []
    assert ids(session, sentiment="positive") == [k["lovely"]]
    assert set(ids(session, sentiment="negative")) == {k["late"], k["refund"], k["odd"]}
    assert ids(session, dimension="sense") == [k["lovely"]]
    assert ids(session, dimension="think") == [k["refund"]]
    assert ids(session, theme="deliveries") == [k["late"]]  # a phrase is turned into its theme key
    assert ids(session, theme="refund") == [k["refund"]]
    assert ids(session, mismatch="1") == [k["odd"]]
    assert ids(session, q="DRIVER") == [k["late"]]
    assert ids(session, q="100%") == [k["odd"]]
    assert ids(session, q="0%") == [k["odd"]]
    assert ids(session, q="%") == [k["odd"]]  # a wildcard is a plain character
    assert ids(session, q="_bad_") == [k["odd"]]
    assert ids(session, q="_") == [k["odd"]]
    assert ids(session, q="nothing like this") == []
    assert ids(session, sentiment="negative", band="detractor", q="rude", dimension="relate") == [k["late"]]


def test_unknown_filter_values_are_ignored_and_bad_cursors_refused(session, known):
    assert len(ids(session, period="1000y", band="best", sentiment="angry", dimension="smell")) == 4
    with pytest.raises(Exception) as caught:
        service.list_responses(session, ResponseFilters(), cursor="not-a-cursor")
    assert getattr(caught.value, "code", None) == "invalid_cursor"


def test_paging_returns_every_row_once(session, known):
    seen, cursor, pages = [], None, 0
    while True:
        page = service.list_responses(session, ResponseFilters(period="365d"), cursor=cursor, limit=2)
        assert page.total == 5
        seen += [r.id for r in page.items]
        pages += 1
        cursor = page.next_cursor
        if not cursor:
            break
    assert pages == 3 and sorted(seen) == sorted(known.values()) and len(seen) == len(set(seen))


def _csv(engine, filters, batch_size=1000):
    return list(csv.reader(io.StringIO("".join(csv_chunks(engine, filters, batch_size=batch_size)))))


def test_export_holds_exactly_the_filtered_rows_in_batches(engine, session, known):
    statements = []

    def count(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("SELECT") and "FROM response" in statement:
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        rows = _csv(engine, ResponseFilters(period="30d"), batch_size=2)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    header, body = rows[0], rows[1:]
    assert header[:6] == ["response_id", "completed_at", "survey", "touchpoint", "contact_external_id", "crm"]
    assert header[-5:] == ["sense_valence", "feel_valence", "think_valence", "act_valence", "relate_valence"]
    assert [int(r[0]) for r in body] == [known["late"], known["lovely"], known["refund"], known["odd"]]
    assert len(statements) == 1  # 4 rows in batches of 2, read from one query: the rows are sorted once
    by_id = {int(r[0]): dict(zip(header, r, strict=True)) for r in body}
    refund = by_id[known["refund"]]
    assert refund["survey"] == "support" and refund["csat"] == "2" and refund["ces"] == "6"
    assert "refund" in refund["themes"].split(";") and refund["label"] == "negative"
    assert by_id[known["odd"]]["mismatch"] == "true"
    assert float(by_id[known["late"]]["act_valence"]) < 0 and by_id[known["late"]]["sense_valence"] == ""


def test_export_streams_before_the_query_finishes(engine, session, known):
    chunks = csv_chunks(engine, ResponseFilters(period="365d"), batch_size=2)
    assert next(chunks).startswith("response_id,")  # the header comes before any row is read
    first = next(chunks)
    assert first.count("\r\n") == 2  # one batch at a time
    assert len(list(chunks)) == 2


def test_formulas_are_defused():
    for dangerous in ("=HYPERLINK(\"x\")", "+1", "-1+2", "@SUM(A1)", "\tx", "\rx"):
        assert safe_cell(dangerous) == "'" + dangerous
    assert safe_cell("fine") == "fine" and safe_cell(None) == ""


def test_segments_split_text_at_span_edges():
    spans = [{"start": 4, "end": 9, "dimension": "act", "valence": -0.5},
             {"start": 6, "end": 12, "dimension": "feel", "valence": 0.4}]
    pieces = segments("abc <b>x</b> end", spans)
    assert "".join(p.text for p in pieces) == "abc <b>x</b> end"
    assert [(p.text, [m["dimension"] for m in p.marks]) for p in pieces] == [
        ("abc ", []), ("<b", ["act"]), (">x<", ["act", "feel"]), ("/b>", ["feel"]), (" end", [])]
    only = segments("abc <b>x</b> end", spans, only="feel")
    assert [(p.text, [m["dimension"] for m in p.marks]) for p in only] == [
        ("abc <b", []), (">x</b>", ["feel"]), (" end", [])]


def test_sorted_by_sentiment_the_most_negative_come_first_and_paging_keeps_that_order(session, known):
    everything = service.list_responses(session, ResponseFilters(period="365d", sort="sentiment"), limit=100).items
    sentiments = [r.sentiment for r in everything]
    assert len(everything) == 5 and None not in sentiments
    assert sentiments == sorted(sentiments) and everything[-1].id == known["lovely"]  # the only positive one
    seen, cursor = [], None
    while True:
        page = service.list_responses(session, ResponseFilters(period="365d", sort="sentiment"), cursor=cursor,
                                      limit=2)
        assert page.total == 5
        seen += [r.id for r in page.items]
        cursor = page.next_cursor
        if not cursor:
            break
    assert seen == [r.id for r in everything]


def test_a_sentiment_cursor_is_not_a_date_cursor(session, known):
    page = service.list_responses(session, ResponseFilters(period="365d"), limit=1)
    with pytest.raises(Exception) as caught:
        service.list_responses(session, ResponseFilters(period="365d", sort="sentiment"), cursor=page.next_cursor)
    assert getattr(caught.value, "code", None) == "invalid_cursor"


def test_the_sort_and_answer_filters_are_read_from_the_url_and_kept_in_links():
    filters = ResponseFilters.from_params({"sort": "sentiment", "answer": "plan:Pro: annual", "period": "30d"})
    assert filters.answer_filter == ("plan", "Pro: annual") and filters.sort == "sentiment"
    assert filters.to_params() == {"period": "30d", "answer": "plan:Pro: annual", "sort": "sentiment"}
    for junk in ("plan", "plan:", ":Pro", "bad id:Pro", "x" * 65 + ":Pro"):
        assert ResponseFilters.from_params({"answer": junk}).answer is None
    assert ResponseFilters.from_params({"sort": "loudest"}).sort is None


CHOICES = [{"id": "nps", "type": "nps", "prompt": "Recommend?", "required": True},
           {"id": "plan", "type": "single_choice", "prompt": "Which plan?", "options": ["Basic", "Pro", "Pro+"]},
           {"id": "liked", "type": "multi_choice", "prompt": "What did you like?",
            "options": ["Speed", "Price", "Staff"]}]


def test_an_answer_filter_keeps_the_responses_that_picked_that_option(session):
    from tests import factories as f

    f.touchpoint(session, "plan_changed", "usage", name="Plan changed")
    f.survey(session, "plans", "plan_changed", questions=CHOICES, recontact_days=0)
    session.commit()
    made = {name: respond(session, given, contact=name, touchpoint="plan_changed").id for name, given in {
        "pro": [("nps", 9), ("plan", "Pro"), ("liked", ["Speed", "Staff"])],
        "pro_plus": [("nps", 9), ("plan", "Pro+"), ("liked", ["Staff"])],
        "basic": [("nps", 5), ("plan", "Basic"), ("liked", ["Price"])],
        "silent": [("nps", 7)],
    }.items()}
    assert ids(session, answer="plan:Pro") == [made["pro"]]  # not "Pro+": whole options only
    assert set(ids(session, answer="liked:Staff")) == {made["pro"], made["pro_plus"]}
    assert ids(session, answer="liked:Staff", survey="plans", q="nothing") == []
    assert ids(session, answer="plan:Gold") == [] and ids(session, answer="nps:9") == []
    assert len(ids(session, answer="plan")) == 4  # not a filter: ignored
    found = service.list_responses(session, ResponseFilters(answer="liked:Staff", sort="sentiment"))
    assert found.total == 2
    labelled = ResponseFilters(survey="plans", answer="plan:Pro")
    assert service.answer_label(session, labelled) == "Which plan?: Pro"
