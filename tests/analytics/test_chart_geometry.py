"""Where the SVG charts put their points, whiskers, bands and ticks, worked out by hand from the chart box:
a 720 × 240 box has its plot from x = 48 to 708 and from y = 12 (top) to 212 (240 − 28 for the labels)."""

from __future__ import annotations

from voc.analytics.charts import line_chart


def test_points_sit_in_equal_slots_at_their_value_with_whiskers_at_their_interval():
    # Three slots of 660/3 = 220 px, points at their centres: 48 + 110 = 158, 378, 598. On −100..100 over
    # 200 px, +50 is 150/200 of the way up from 212: y = 62; +30 → 82, +70 → 42, −20 → 132, 0 → 112.
    chart = line_chart(["Mon", "Tue", "Wed"], [("NPS", "line-score", [(50.0, 30.0, 70.0, 40), (None, None, None, 0),
                                                                       (-20.0, None, None, 10)])],
                       y_min=-100, y_max=100, small_sample=30)
    assert (chart.width, chart.height, chart.left, chart.right, chart.top, chart.bottom) == (720, 240, 48, 708, 12, 212)
    first, third = chart.series[0].points
    assert (first.x, first.y, first.y_low, first.y_high, first.small) == (158.0, 62.0, 82.0, 42.0, False)
    assert first.text == "Mon: NPS +50 (95% interval +30 to +70), n=40"
    assert (third.x, third.y, third.y_low, third.y_high, third.small) == (598.0, 132.0, None, None, True)
    assert third.text == "Wed: NPS -20, n=10, small sample (n < 30)" and third.shown == "-20"
    assert chart.series[0].path == "M158.0,62.0 L598.0,132.0" and chart.series[0].band == ""  # one interval: no band
    assert [(t.at, t.text) for t in chart.y_ticks] == [(212.0, "-100"), (162.0, "-50"), (112.0, "+0"), (62.0, "+50"),
                                                       (12.0, "+100")]
    assert [(t.at, t.text) for t in chart.x_ticks] == [(158.0, "Mon"), (378.0, "Tue"), (598.0, "Wed")]
    assert chart.zero == 112.0 and not chart.empty


def test_a_band_joins_the_intervals_and_values_off_the_scale_sit_on_its_edge():
    # 0..100 over 200 px: y = 212 − 2·value. Two slots of 330 px: x = 213 and 543. 150 is drawn at 100 (y 12).
    chart = line_chart(["a", "b"], [("CSAT", "c", [(40.0, 30.0, 50.0, 100), (150.0, 90.0, 120.0, 100)])],
                       y_min=0, y_max=100, fmt="{:.0f}%".format, tick_fmt="{:.0f}".format, ticks=3)
    series = chart.series[0]
    assert [(p.x, p.y) for p in series.points] == [(213.0, 132.0), (543.0, 12.0)]
    assert series.band == "M213.0,112.0 L543.0,12.0 L543.0,32.0 L213.0,152.0 Z"
    assert series.points[0].shown == "40% (95% interval 30% to 50%)"
    assert [(t.at, t.text) for t in chart.y_ticks] == [(212.0, "0"), (112.0, "50"), (12.0, "100")]
    assert chart.zero is None  # 0 is the bottom of the scale, not a line across it


def test_separate_points_have_no_line_and_crowded_labels_are_thinned():
    labels = [f"d{i}" for i in range(20)]
    values = [(float(i), float(i) - 1, float(i) + 1, 5) for i in range(20)]
    chart = line_chart(labels, [("CES", "c", values)], y_min=1, y_max=7, joined=False, width=1000, height=300,
                       bottom_margin=40, hrefs=[f"/x/{i}" for i in range(20)])
    series = chart.series[0]
    assert series.path == "" and series.band == "" and not series.joined
    assert (chart.right, chart.bottom) == (988, 260)
    assert series.points[0].x == round(48 + 940 * 0.5 / 20, 1) and series.points[3].href == "/x/3"
    assert [t.text for t in chart.x_ticks] == [f"d{i}" for i in range(0, 20, 2)]  # 20 labels, at most 8: every 2nd
    assert len(line_chart(labels, [], y_min=0, y_max=1, max_labels=20).x_ticks) == 20


def test_a_chart_without_values_says_it_is_empty():
    chart = line_chart([], [("NPS", "c", [])], y_min=-100, y_max=100)
    assert chart.empty and chart.series[0].points == [] and chart.x_ticks == []


def test_positions_are_kept_to_a_tenth_of_a_pixel_and_one_label_is_centred():
    # Seven slots of 660/7 px: the first centre is 48 + 47.14 = 95.1. On 0..100, 33.33 is at 212 − 66.66 = 145.3.
    chart = line_chart([f"d{i}" for i in range(7)], [("CSAT", "c", [(33.33, None, None, 50)] * 7)], y_min=0, y_max=100)
    assert (chart.series[0].points[0].x, chart.series[0].points[0].y) == (95.1, 145.3)
    alone = line_chart(["only"], [("NPS", "c", [(0.0, None, None, 50)])], y_min=-100, y_max=100)
    assert alone.series[0].points[0].x == 378.0  # the middle of 48..708
    # Sixteen labels, at most eight shown: every second one.
    crowded = line_chart([f"d{i}" for i in range(16)], [], y_min=0, y_max=1)
    assert [t.text for t in crowded.x_ticks] == [f"d{i}" for i in range(0, 16, 2)]
