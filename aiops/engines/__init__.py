"""The loops: scrape+detect, remediate, forecast. Side effects live here (HTTP: aiops.http)."""
