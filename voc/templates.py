"""The Jinja environments every layer renders with: HTML (autoescaped: customers' text is untrusted) and
plain text. Neutral ground, so the dashboard, the survey pages and the e-mails share one set of templates
without a domain package importing the web layer."""

from __future__ import annotations

import jinja2

from voc.resources import resource_dir

# autoescape=True for every template, whatever its file name: customers' text is untrusted.
html_environment = jinja2.Environment(loader=jinja2.FileSystemLoader(resource_dir("templates")), autoescape=True,
                                      trim_blocks=True, lstrip_blocks=True)

# Plain text is not HTML: escaping it would show "&amp;" in links and names. Nothing in it is markup.
text_environment = jinja2.Environment(loader=jinja2.FileSystemLoader(resource_dir("templates")),
                                      autoescape=False, trim_blocks=True, lstrip_blocks=True,  # noqa: S701
                                      keep_trailing_newline=True)
