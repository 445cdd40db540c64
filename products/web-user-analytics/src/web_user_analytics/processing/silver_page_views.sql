/* ---
name: silver.page_views
materialized: append
time_column: timestamp
cluster_by: [visitor_id]
description: >-
  Page views, clicks and other tracked events of the website, typed, each event_id once within
  7 days, in one layout for both wire formats: the URL parsed (host, path, query, utm_*), the
  referrer classified, and the raw user agent (parsed in silver.user_agents).
columns:
  event_id: {type: varchar, description: "The SDK's message id (Segment messageId, PostHog uuid)."}
  type: {type: varchar, description: page (a page view) or track (a click or another event).}
  event: {type: varchar, description: "The tracked event (click, purchase, ...), or the page's name."}
  is_pageview: {type: boolean, description: Whether the event is a page view.}
  is_conversion: {type: boolean, description: "Whether the event is a conversion: a track event named in the setting `conversion_events` (by default `Order Completed` and `purchase`), decided as the event arrives."}
  visitor_id: {type: varchar, description: "The browser: the anonymous id, else the user id.", tags: [pii]}
  anonymous_id: {type: varchar, description: The SDK's anonymous id of the browser., tags: [pii]}
  user_id: {type: varchar, description: The signed-in user when known., tags: [pii]}
  timestamp: {type: timestamptz, description: When it happened (corrected for device clock skew).}
  received_at: {type: timestamptz, description: When the collector received it.}
  url: {type: varchar, description: The page's full URL.}
  host: {type: varchar, description: "The page's host name, lower case."}
  path: {type: varchar, description: "The page's path, `/` at least."}
  query: {type: varchar, description: "The URL's query string, without `?`."}
  utm_source: {type: varchar, description: "The campaign's source: the SDK's campaign context, else the URL's utm_source."}
  utm_medium: {type: varchar, description: The campaign's medium.}
  utm_campaign: {type: varchar, description: The campaign's name.}
  utm_term: {type: varchar, description: The campaign's term.}
  utm_content: {type: varchar, description: The campaign's content.}
  referrer: {type: varchar, description: The referring URL.}
  referrer_host: {type: varchar, description: "The referring host, lower case, without `www.`."}
  source: {type: varchar, description: "Where the visit came from: direct, search, social, email, paid or referral."}
  user_agent: {type: varchar, description: The browser's user-agent string.}
  ip: {type: varchar, description: The client's IP address when the SDK sent it., tags: [pii]}
  revenue: {type: double, description: "The amount the event carries: properties.revenue, else total, else value (Segment's e-commerce spec); summed as revenue on conversions."}
  currency: {type: varchar, description: "properties.currency, upper case (ISO 4217 as sent: EUR, USD); null when the event names none."}
  wire_format: {type: varchar, description: segment or posthog.}
  properties: {type: varchar, description: "The event's properties as the SDK sent them, as JSON (PostHog's with their `$` names): what insights filter and break down by."}
checks:
  - {check: not_null, column: event_id}
  - {check: not_null, column: visitor_id}
  - {check: accepted_values, column: source, values: [direct, search, social, email, paid, referral], severity: warn}
--- */
with arrived as (
    select
        event_id,
        type,
        event,
        -- PostHog sends the anonymous id as distinct_id until the visitor signs in.
        nullif(user_id, anonymous_id) as user_id,
        anonymous_id,
        timestamp,
        received_at,
        wire_format,
        -- The collector maps PostHog's `$current_url`, `$pathname`, `$referrer`,
        -- `$raw_user_agent` and `$ip` into Segment's context, so one layout is read here.
        coalesce(json_extract_string(context, '$.page.url'), json_extract_string(properties, '$.url'))
            as url,
        coalesce(
            json_extract_string(context, '$.page.path'), json_extract_string(properties, '$.path')
        ) as sent_path,
        -- posthog-js and RudderStack's SDK say `$direct` when there was no referrer.
        nullif(
            coalesce(
                json_extract_string(context, '$.page.referrer'),
                json_extract_string(properties, '$.referrer')
            ),
            '$direct'
        ) as referrer,
        json_extract_string(context, '$.userAgent') as user_agent,
        json_extract_string(context, '$.ip') as ip,
        -- The SDK's campaign (the collector puts PostHog's there too); when missing, the URL's
        -- query string may still say it.
        json_extract_string(context, '$.campaign.source') as sent_utm_source,
        json_extract_string(context, '$.campaign.medium') as sent_utm_medium,
        json_extract_string(context, '$.campaign.name') as sent_utm_campaign,
        json_extract_string(context, '$.campaign.term') as sent_utm_term,
        json_extract_string(context, '$.campaign.content') as sent_utm_content,
        -- Segment's e-commerce spec: an order carries `revenue`, `total` or `value`.
        coalesce(
            try_cast(json_extract_string(properties, '$.revenue') as double),
            try_cast(json_extract_string(properties, '$.total') as double),
            try_cast(json_extract_string(properties, '$.value') as double)
        ) as revenue,
        upper(json_extract_string(properties, '$.currency')) as currency,
        properties
    from ref('bronze.clickstream')
    where type in ('page', 'track')
),

parsed as (
    select
        *,
        lower(regexp_extract(url, '^[a-z][a-z0-9+.-]*://(?:[^/?#@]*@)?([^/?#:]+)', 1, 'i'))
            as url_host,
        regexp_extract(url, '^[a-z][a-z0-9+.-]*://[^/?#]*([^?#]*)', 1, 'i') as url_path,
        nullif(regexp_extract(url, '\?([^#]*)', 1), '') as url_query,
        lower(regexp_extract(referrer, '^[a-z][a-z0-9+.-]*://(?:[^/?#@]*@)?(?:www\.)?([^/?#:]+)', 1, 'i'))
            as referrer_host_found
    from arrived
),

-- Query parameters are form-encoded: `+` is a space.
typed as (
    select
        *,
        nullif(url_host, '') as host,
        coalesce(nullif(url_path, ''), nullif(sent_path, ''), '/') as path,
        url_query as query,
        coalesce(sent_utm_source, nullif(url_decode(replace(regexp_extract(url_query, '(?:^|&)utm_source=([^&]*)', 1), '+', ' ')), '')) as utm_source,
        coalesce(sent_utm_medium, nullif(url_decode(replace(regexp_extract(url_query, '(?:^|&)utm_medium=([^&]*)', 1), '+', ' ')), '')) as utm_medium,
        coalesce(sent_utm_campaign, nullif(url_decode(replace(regexp_extract(url_query, '(?:^|&)utm_campaign=([^&]*)', 1), '+', ' ')), '')) as utm_campaign,
        coalesce(sent_utm_term, nullif(url_decode(replace(regexp_extract(url_query, '(?:^|&)utm_term=([^&]*)', 1), '+', ' ')), '')) as utm_term,
        coalesce(sent_utm_content, nullif(url_decode(replace(regexp_extract(url_query, '(?:^|&)utm_content=([^&]*)', 1), '+', ' ')), '')) as utm_content,
        nullif(referrer_host_found, '') as referrer_host,
        -- Ad platforms tag the landing URL with a click id even without utm_* parameters.
        regexp_matches(coalesce(url_query, ''), '(?:^|&)(gclid|msclkid|dclid|wbraid|gbraid)=') as has_ad_click_id
    from parsed
),

classified as (
    select
        *,
        case
            when lower(utm_medium) similar to '(cpc|ppc|cpm|cpv|cpa|paid|paid[-_ ]?(search|social|media)|display|banner|retargeting)'
                or has_ad_click_id
                then 'paid'
            when lower(utm_medium) similar to '(e-?mail|newsletter)'
                or referrer_host similar to '(mail\.google\.com|outlook\.(live|office|office365)\.com|mail\.yahoo\.com|mail\.proton\.me|webmail\..*)'
                then 'email'
            when lower(utm_medium) similar to '(social|social[-_ ]?(media|network)|sm)'
                or referrer_host similar to '(.*\.)?(facebook|fb|instagram|twitter|x|t|linkedin|lnkd|pinterest|reddit|tiktok|youtube|threads|bsky|mastodon|whatsapp|snapchat|tumblr|quora)\.(com|co|net|me|in|app|social)'
                then 'social'
            when lower(utm_medium) = 'organic'
                or referrer_host similar to '(.*\.)?(google|bing|yahoo|duckduckgo|baidu|yandex|ecosia|qwant|naver|seznam|startpage|brave)\.[a-z]+(\.[a-z]+)?'
                then 'search'
            -- A campaign tag that says none of the above still names who sent the visitor.
            when utm_source is not null or utm_medium is not null then 'referral'
            -- No referrer, or a page of this site: the visit has no outside source.
            when referrer_host is null or referrer_host = regexp_replace(host, '^www\.', '') then 'direct'
            else 'referral'
        end as source
    from typed
),

-- A retry of an event published in the last 7 days is a duplicate; older ones are not looked up.
recently_published as (
    select event_id from this_since('7 days')
)

select
    event_id,
    type,
    event,
    type = 'page' as is_pageview,
    type = 'track' and coalesce(list_contains(var('conversion_events'), event), false)
        as is_conversion,
    coalesce(anonymous_id, user_id) as visitor_id,
    anonymous_id,
    user_id,
    timestamp,
    received_at,
    url,
    host,
    path,
    query,
    utm_source,
    utm_medium,
    utm_campaign,
    utm_term,
    utm_content,
    referrer,
    referrer_host,
    source,
    user_agent,
    ip,
    revenue,
    currency,
    wire_format,
    properties
from classified
where event_id not in (select event_id from recently_published)
qualify row_number() over (partition by event_id order by received_at) = 1
