"""What synthetic traffic looks like: the one place both generators take their shapes from.

The per-event generator (`_traffic`, sent through the collector) and the columnar one
(`_columns`, written straight to bronze) draw from these, so the two cannot drift apart.
"""

IOS_DEVICES = ("iPhone15,2", "iPhone14,5", "iPhone16,1", "iPad13,4")
ANDROID_DEVICES = ("Pixel 8", "SM-S918B", "SM-A546B", "Redmi Note 12")
OS_VERSIONS = {"ios": "18.1", "android": "14"}
APP_NAME = "Shop"
APP_VERSIONS = ("3.1.0", "3.2.0", "3.2.1", "3.3.0")
CRASHY_VERSION = "3.2.0"  # the release with the bug: crashes more
SCREENS = ("Home", "Search", "Product", "Cart", "Profile", "Orders")
TAP_TARGETS = ("buy", "search", "menu", "like")
PRODUCTS = ("sneakers", "jacket", "backpack", "watch", "headphones")
CURRENCIES = ("EUR", "USD")
BROWSERS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
)
BOTS = (
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
)
# (referrer, utm_source, utm_medium, utm_campaign): direct, search, social, email and paid visits.
ARRIVALS = (
    (None, None, None, None),
    ("https://www.google.com/", None, None, None),
    ("https://www.facebook.com/", "facebook", "social", "winter_sale"),
    (None, "newsletter", "email", "weekly_digest"),
    ("https://www.google.com/", "google", "cpc", "brand_search"),
    ("https://blog.example.org/review", None, None, None),
)
FUNNEL = ("/", "/products/{product}", "/cart", "/checkout", "/checkout/complete")
FUNNEL_CONTINUES = (0.7, 0.45, 0.6, 0.7)  # chance of taking each next step
SITE = "https://shop.example.com"
TRAITS_PLAN = "member"
LIBRARY = {"name": "synthetic", "version": "1"}

# Who people are: 40 % mobile only, 40 % web only, 20 % both.
MOBILE_SHARE = 0.6  # a roll below this uses the app
WEB_FROM = 0.4  # a roll from this up visits the website
BOT_SHARE = 0.03  # of web-only visitors
POSTHOG_SHARE = 0.3  # of people whose browser sends PostHog's wire format

# What a day looks like.
APP_DAY_CHANCE = 0.55  # a mobile user opens the app that day
WEB_DAY_CHANCE = 0.6  # a web visitor comes that day
SESSIONS_PER_DAY = (1, 3)  # app sessions, and web visits, of an active day (inclusive)
UPGRADE_CHANCE = 0.03  # per active day: the app updates to the latest version
APP_DAY_SECONDS = (6 * 3600, 23 * 3600)  # when app sessions start
SCREENS_PER_SESSION = (2, 12)
TAP_CHANCE = 0.5  # after each screen
CART_CHANCE = 0.25  # per session
PURCHASE_CHANCE = 0.5  # of carts
CRASH_CHANCE = 0.02
CRASHY_VERSION_EXTRA = 0.05
APP_GAP_SECONDS = (2, 90)  # between two app events
WEB_DAY_SECONDS = (0, 23 * 3600)  # when web visits start
BROWSED_CATEGORIES = (0, 4)  # category pages between the landing page and the funnel
PAGE_GAP_SECONDS = (5, 240)
CLICK_CHANCE = 0.4  # after each page
CLICK_GAP_SECONDS = (1, 30)
PURCHASE_AFTER_SECONDS = 5
IDENTIFY_CHANCE = 0.6  # of visits by people who also use the app
REVENUE = (9.0, 240.0)
LATE_OR_DUPLICATE_RATE = 0.01  # of events sent twice, and of events delivered a day late
WEB_CURRENCY = "EUR"  # the shop prices its website in euros
