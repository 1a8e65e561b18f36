"""The Prometheus Python client's parser of the text exposition format
(`prometheus_client.parser.text_string_to_metric_families`) reads what each service's
`/metrics` answered, so a format mistake of ours (an escape, a misplaced `# TYPE`, a value
Go would not read) fails here and not in a real Prometheus.

stdin: {"scrapes": {"<name>": "<text>", ...}}
stdout: {"<name>": {"families": {"<family>": "<type>", ...},
                    "samples": [{"name": ..., "labels": {...}, "value": <float or "+Inf"/"NaN">}, ...]}}
        or {"error": "<name>: <parser message>"} for the first text that does not parse.
"""

import json
import math
import sys

from prometheus_client.parser import text_string_to_metric_families


def number(value):
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return value


def parse(text):
    families = {}
    samples = []
    for family in text_string_to_metric_families(text):
        if family.name in families:
            raise ValueError("family %s appears twice" % family.name)
        families[family.name] = family.type
        for s in family.samples:
            samples.append({"name": s.name, "labels": dict(s.labels), "value": number(s.value)})
    return {"families": families, "samples": samples}


def main():
    request = json.load(sys.stdin)
    out = {}
    for name, text in request["scrapes"].items():
        try:
            out[name] = parse(text)
        except Exception as e:  # the parser raises ValueError and others on bad input
            json.dump({"error": "%s: %s: %s" % (name, type(e).__name__, e)}, sys.stdout)
            return
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
