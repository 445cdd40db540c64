"""Web user analytics: Clickstream from the website: sessionisation, pages, traffic sources, funnels, devices, realtime visitors."""
