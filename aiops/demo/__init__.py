"""``aiops demo``: the whole real loop on one machine, in one command.

One sandbox world served over HTTP (scraped by a real Prometheus, acted on by the daemon),
Debian Prometheus and Alertmanager with generated configs, and the daemon on the
Prometheus source with the Alertmanager webhook, all on one clock at any speed
(:mod:`aiops.demo.configs`, :mod:`aiops.demo.stack`; docs/demo.md).
"""
