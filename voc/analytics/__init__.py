"""Analytics: rollups per day × survey × touchpoint and the figures the dashboard shows from them."""
