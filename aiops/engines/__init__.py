"""The loops: scrape+detect, remediate, forecast, HTTP. Side effects live here."""
