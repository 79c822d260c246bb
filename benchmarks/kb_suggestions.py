"""Knowledge-base suggestions: how often the article that answers a ticket is among the
first three suggested.

The fixture set is in ``tests/kb/data``: 50 articles (Czech, German, Slovak, English and two
for any language) of an e-shop for household appliances and coffee machines, and 200 tickets
(some written without diacritics, German ones with compounds the articles do not use), 184
of them labelled with the article that answers them and 16 with none. Each labelled
ticket's subject and message are ranked with ``helpdesk_core.domain.knowledge.suggest`` in
its language; a hit is the labelled article among the first ``--top`` (default 3).

    python benchmarks/kb_suggestions.py [--top N] [--misses]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "kb"))

from kb_benchmark import measure


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=3)
    parser.add_argument("--misses", action="store_true", help="list the tickets missed")
    args = parser.parse_args()
    result = measure(top=args.top)
    print(f"top-{args.top} hit rate: {result.hits}/{result.answered} = {result.rate:.1%} "
          f"({result.unanswered} tickets without an answer not counted)")
    if args.misses:
        for miss in result.misses:
            print(f"  {miss.language} {miss.subject!r}: expected {miss.expected}, "
                  f"got {', '.join(miss.got) or 'nothing'}")


if __name__ == "__main__":
    main()
