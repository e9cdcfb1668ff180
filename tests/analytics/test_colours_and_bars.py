"""The colours of the heatmap and theme pills, and the choice questions' share bars, worked out by hand.

Contrast is WCAG 2's: relative luminance L = 0.2126 R + 0.7152 G + 0.0722 B of the linear channels (an sRGB
channel s = c/255 is s/12.92 up to 0.03928, else ((s + 0.055)/1.055)^2.4), and the ratio (L1 + 0.05)/(L2 + 0.05)
of the lighter to the darker colour, printed to two decimals as contrast checkers print it."""

from __future__ import annotations

import pytest
from scipy import stats

from voc.analytics.charts import _relative_luminance, diverging_colour, share_bars


def _wcag_luminance(hex_colour: str) -> float:
    """WCAG 2's relative luminance, written out from the definition (not the code's)."""
    def linear(channel: int) -> float:
        s = channel / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4
    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)


def _ratio(a: float, b: float) -> str:
    """WCAG contrast ratio of two luminances, as a checker prints it."""
    return f"{(max(a, b) + 0.05) / (min(a, b) + 0.05):.2f}"


BLACK, WHITE = 0.0, 1.0


def test_luminance_and_contrast_of_textbook_colours():
    # White: every channel 1, so L = 0.2126 + 0.7152 + 0.0722 = 1; black 0: the extreme ratio 1.05/0.05 = 21.
    assert _relative_luminance((255, 255, 255)) == pytest.approx(1.0, abs=5e-5)
    assert _relative_luminance((0, 0, 0)) == pytest.approx(0.0, abs=5e-5)
    assert _ratio(_relative_luminance((0, 0, 0)), _relative_luminance((255, 255, 255))) == "21.00"
    # #777777: 119/255 = 0.46667 → ((0.46667 + 0.055)/1.055)^2.4 = 0.49447^2.4 = 0.18448: the well-known grey
    # that just misses 4.5:1 on white (1.05/0.23448 = 4.48) and passes on black (0.23448/0.05 = 4.69).
    grey = _relative_luminance((0x77, 0x77, 0x77))
    assert grey == pytest.approx(0.18448, abs=5e-5)
    assert (_ratio(grey, WHITE), _ratio(grey, BLACK)) == ("4.48", "4.69")
    # The primaries weigh what the eye sees: red 0.2126 (5.25:1 on black, 4.00:1 on white), green 0.7152
    # (15.30 on black), blue 0.0722 (8.59 on white).
    red, green, blue = (_relative_luminance(c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255)))
    assert (red, green, blue) == (pytest.approx(0.2126, abs=5e-5), pytest.approx(0.7152, abs=5e-5),
                                  pytest.approx(0.0722, abs=5e-5))
    assert (_ratio(red, BLACK), _ratio(red, WHITE)) == ("5.25", "4.00")
    assert (_ratio(green, BLACK), _ratio(blue, WHITE)) == ("15.30", "8.59")
    # PuOr's ends and middle: (179, 88, 6) → 0.2126 · 0.45079 + 0.7152 · 0.09759 + 0.0722 · 0.00182 = 0.16576;
    # (84, 39, 136) → 0.05113; (247, 247, 247) → 0.93011.
    assert _relative_luminance((179, 88, 6)) == pytest.approx(0.16576, abs=5e-5)
    assert _relative_luminance((84, 39, 136)) == pytest.approx(0.05113, abs=5e-5)
    assert _relative_luminance((247, 247, 247)) == pytest.approx(0.93011, abs=5e-5)


def test_a_dark_channel_is_linear_below_the_threshold():
    # 10/255 = 0.039216 ≤ 0.03928: linear, 0.039216/12.92 = 0.0030353 (on white 1.05/0.0530353 = 19.80).
    # 11/255 = 0.043137 > 0.03928: the power curve, (0.098137/1.055)^2.4 = 0.0033465 (on white 19.68).
    # The two pieces nearly meet there: 11 on the linear piece would be 0.0033388, 10 on the curve 0.0030345
    # (0.8e-6 from the linear value, too close to tell apart at these tolerances). No heatmap fill is within
    # 4e-4 of where the text switches colour, so none of this changes a cell's text: it checks WCAG's formula.
    ten, eleven = _relative_luminance((10, 10, 10)), _relative_luminance((11, 11, 11))
    assert ten == pytest.approx(0.0030353, abs=5e-6) and eleven == pytest.approx(0.0033465, abs=5e-6)
    assert (_ratio(ten, WHITE), _ratio(eleven, WHITE)) == ("19.80", "19.68")
    # One dark channel among light ones: (255, 255, 6), yellow: 0.2126 + 0.7152 + 0.0722 · 6/255/12.92.
    assert _relative_luminance((255, 255, 6)) == pytest.approx(0.9278 + 0.0722 * 6 / 255 / 12.92, abs=5e-6)


def test_no_valence_is_white_with_black_text():
    # A cell nobody felt anything in: a white fill, black text at 21:1.
    assert diverging_colour(None) == ("#ffffff", "#000000")
    assert diverging_colour(None, 0.3) == ("#ffffff", "#000000")


def test_the_palette_runs_from_orange_through_grey_to_purple():
    # The ends are PuOr's: orange (179, 88, 6), white text (4.87:1 against black's 4.32:1); purple (84, 39, 136),
    # white text (10.38:1); the middle grey (247, 247, 247), black text (19.60:1).
    assert diverging_colour(-1.0) == ("#b35806", "#ffffff")
    assert diverging_colour(0.0) == ("#f7f7f7", "#000000")
    assert diverging_colour(1.0) == ("#542788", "#ffffff")
    # +0.4: 40% of the way from grey to purple: (247 − 163·0.4, 247 − 208·0.4, 247 − 111·0.4)
    # = (181.8, 163.8, 202.6) → (182, 164, 203) = #b6a4cb, a light purple, black text.
    assert diverging_colour(0.4) == ("#b6a4cb", "#000000")
    # −0.4: towards orange: (247 − 68·0.4, 247 − 159·0.4, 247 − 241·0.4) = (219.8, 183.4, 150.6) → #dcb797.
    assert diverging_colour(-0.4) == ("#dcb797", "#000000")
    # −0.0 is the middle too.
    assert diverging_colour(-0.0) == ("#f7f7f7", "#000000")


def test_a_weak_strength_fades_the_fill_towards_white():
    # Orange at strength 0.3: 255 + (c − 255)·0.3 = (232.2, 204.9, 180.3) → (232, 205, 180) = #e8cdb4, black text.
    assert diverging_colour(-1.0, 0.3) == ("#e8cdb4", "#000000")
    # Purple at strength 0.65: (255 − 171·0.65, 255 − 216·0.65, 255 − 119·0.65) = (143.85, 114.6, 177.65)
    # → (144, 115, 178) = #9073b2; L = 0.2126·0.2789 + 0.7152·0.1714 + 0.0722·0.4452 = 0.2141 → black (5.28:1).
    assert diverging_colour(1.0, 0.65) == ("#9073b2", "#000000")
    # Strength 0: white; the default strength is full colour.
    assert diverging_colour(-1.0, 0.0) == ("#ffffff", "#000000")
    assert diverging_colour(0.4) == diverging_colour(0.4, 1.0)


def test_the_text_switches_where_black_starts_to_contrast_more_than_white():
    # Black wins when (L + 0.05)/0.05 ≥ 1.05/(L + 0.05), i.e. L ≥ √0.0525 − 0.05 = 0.17913.
    # −0.97: (247 − 68·0.97, 247 − 159·0.97, 247 − 241·0.97) = (181.04, 92.77, 13.23) → (181, 93, 13), L = 0.17682:
    # white 4.63:1 beats black 4.54:1. −0.96: (181.72, 94.36, 15.64) → (182, 94, 16), L = 0.17988: black 4.60:1
    # beats white 4.57:1.
    fill, ink = diverging_colour(-0.97)
    assert (fill, ink) == ("#b55d0d", "#ffffff")
    assert _wcag_luminance(fill) == pytest.approx(0.17682, abs=5e-5)
    assert (_ratio(_wcag_luminance(fill), WHITE), _ratio(_wcag_luminance(fill), BLACK)) == ("4.63", "4.54")
    fill, ink = diverging_colour(-0.96)
    assert (fill, ink) == ("#b65e10", "#000000")
    assert (_ratio(_wcag_luminance(fill), BLACK), _ratio(_wcag_luminance(fill), WHITE)) == ("4.60", "4.57")
    # On the purple side: +0.66 → (139, 110, 174), L = 0.19697, black (4.94:1); +0.70 → (133, 101, 169),
    # L = 0.17158, white (4.74:1).
    assert diverging_colour(0.66) == ("#8b6eae", "#000000")
    assert diverging_colour(0.70) == ("#8565a9", "#ffffff")


def test_every_cell_has_the_text_colour_that_contrasts_more_and_at_least_four_and_a_half():
    # Every fill the heatmap can draw (valence −1..1, strength 0.3..1 as the heatmap rounds it, to 2 places)
    # and the theme pills (strength 1): the text is whichever of black and white contrasts more with the fill,
    # by WCAG's formula, and so always at least 4.5:1 (at the switch both are √0.0525/0.05 = 4.58:1).
    for strength_step in range(30, 101):
        strength = strength_step / 100
        for valence_step in range(-100, 101):
            fill, ink = diverging_colour(valence_step / 100, strength)
            luminance = _wcag_luminance(fill)
            on_black, on_white = (luminance + 0.05) / 0.05, 1.05 / (luminance + 0.05)
            assert ink == ("#000000" if on_black > on_white else "#ffffff"), (valence_step, strength, fill)
            assert max(on_black, on_white) >= 4.5


def _wilson(count: int, n: int) -> tuple[float, float]:
    interval = stats.binomtest(count, n).proportion_ci(confidence_level=0.95, method="wilson")
    return interval.low, interval.high


def test_share_bars_are_drawn_on_a_240_pixel_scale_to_a_tenth_of_a_pixel():
    # 20 of 70 chose "Pro": 2/7 = 28.571%, Wilson 95% interval 19.322% to 40.050% (scipy). On 240 px the bar is
    # 240 · 2/7 = 68.571 → 68.6 px, the whisker from 240 · 0.19322 = 46.37 → 46.4 to 240 · 0.40050 = 96.12 → 96.1.
    low, high = _wilson(20, 70)
    assert (low, high) == (pytest.approx(0.19322, abs=5e-6), pytest.approx(0.40050, abs=5e-6))
    rows = [("Pro", 20, 20 / 70, low, high, {"answer": "plan:Pro"}),
            ("Basic", 0, 0.0, *_wilson(0, 70), {"answer": "plan:Basic"})]
    pro, basic = share_bars(rows, 70)
    assert (pro.label, pro.count, pro.share, pro.low, pro.high) == ("Pro", 20, 20 / 70, low, high)
    assert (pro.width, pro.x_low, pro.x_high) == (68.6, 46.4, 96.1)
    assert pro.text == "Pro: 20 of 70 (28.6%, 95% interval 19.3% to 40.1%)"
    assert pro.params == {"answer": "plan:Pro"}
    # Nobody chose "Basic": no bar, Wilson's interval 0 to 5.2023%, a whisker from 0 to 240 · 0.052023 = 12.486
    # → 12.5 px.
    assert (basic.width, basic.x_low, basic.x_high) == (0.0, 0.0, 12.5)
    assert basic.text == "Basic: 0 of 70 (0.0%, 95% interval 0.0% to 5.2%)"
    # Every one of 70: the full 240 px; on another scale the same shares scale with it (100 px: 28.571 → 28.6).
    # (Wilson's interval of 70 of 70 is 94.798% to 100%: 240 · 0.94798 = 227.515 → 227.5.)
    [everyone] = share_bars([("All", 70, 1.0, *_wilson(70, 70), {})], 70)
    assert (everyone.width, everyone.x_low, everyone.x_high) == (240.0, 227.5, 240.0)
    [narrow] = share_bars(rows[:1], 70, scale=100)
    assert (narrow.width, narrow.x_low, narrow.x_high) == (28.6, 19.3, 40.1)
