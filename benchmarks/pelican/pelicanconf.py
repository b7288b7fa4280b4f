"""Pelican settings for benchmarks/compare.py: the output pressekit writes, as near as Pelican's defaults allow.

One page per release at /<id>/, the newsroom index paginated by 20 (/seite/N/), one
archive per year, one page and one RSS feed per tag (/themen/<tag>/), an RSS feed of the
newest 50 releases, and the content cache for rebuilds. The minimal theme next to this
file keeps template cost comparable to Hugo's minimal layouts.
"""

AUTHOR = "Pressestelle Kreis Brunnental"
SITENAME = "Pressemitteilungen des Kreises Brunnental"
SITEURL = "https://presse.example"
FEED_DOMAIN = SITEURL
RELATIVE_URLS = False

PATH = "content"
THEME = "theme"
TIMEZONE = "Europe/Berlin"
DEFAULT_LANG = "de"
DEFAULT_DATE_FORMAT = "%d.%m.%Y"

# Releases live in content/<id>/index.md; their folder is not a category.
USE_FOLDER_AS_CATEGORY = False
DEFAULT_CATEGORY = "Pressemitteilungen"
ARTICLE_URL = "{slug}/"
ARTICLE_SAVE_AS = "{slug}/index.html"
# Photos beside index.md are copied as they are (Pelican has no resizing without plugins).
STATIC_PATHS = ["."]
STATIC_EXCLUDE_SOURCES = True

# The same Python-Markdown extensions as pressekit.markup.
MARKDOWN = {
    "extension_configs": {
        "markdown.extensions.abbr": {},
        "markdown.extensions.attr_list": {},
        "markdown.extensions.def_list": {},
        "markdown.extensions.fenced_code": {},
        "markdown.extensions.footnotes": {},
        "markdown.extensions.tables": {},
        "markdown.extensions.sane_lists": {},
        "markdown.extensions.toc": {},
    },
    "output_format": "html5",
}

DIRECT_TEMPLATES = ["index"]
DEFAULT_PAGINATION = 20
PAGINATED_TEMPLATES = {"index": None, "tag": None, "period_archives": None}
PAGINATION_PATTERNS = (
    (1, "{url}", "{save_as}"),
    (2, "{base_name}/seite/{number}/", "{base_name}/seite/{number}/index.html"),
)
YEAR_ARCHIVE_URL = "{date:%Y}/"
YEAR_ARCHIVE_SAVE_AS = "{date:%Y}/index.html"
TAG_URL = "themen/{slug}/"
TAG_SAVE_AS = "themen/{slug}/index.html"
CATEGORY_SAVE_AS = ""
CATEGORIES_SAVE_AS = ""
AUTHOR_SAVE_AS = ""
AUTHORS_SAVE_AS = ""
ARCHIVES_SAVE_AS = ""
TAGS_SAVE_AS = ""

FEED_ALL_RSS = "feed.xml"
FEED_ALL_ATOM = None
CATEGORY_FEED_ATOM = None
TRANSLATION_FEED_ATOM = None
AUTHOR_FEED_ATOM = None
AUTHOR_FEED_RSS = None
TAG_FEED_RSS = "themen/{slug}/feed.xml"
FEED_MAX_ITEMS = 50

# Rebuilds: reuse parsed content whose file has not changed.
LOAD_CONTENT_CACHE = True
CACHE_CONTENT = True
CACHE_PATH = "cache"
DELETE_OUTPUT_DIRECTORY = False
