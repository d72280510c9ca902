"""Issue detection on the hand-labelled comments: precision, recall and F1 per issue, and segmentation speed.

    .venv/bin/python benchmarks/text_issues.py            # both sets
    .venv/bin/python benchmarks/text_issues.py --rounds 20

labelled = aftersales/analytics/textmining/tests/labelled_comments.json (230 comments, written with the lexicon:
in-sample); heldout = heldout_comments.json (85 comments written after the lexicon was frozen).  Figures are
printed, nothing is asserted (the tests assert floors).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aftersales.analytics.textmining import DEFAULT_LEXICON, default_segmenter, detect_issues  # noqa: E402
from aftersales.analytics.textmining.evaluation import LABELLED_SETS, load_labelled, score_labelled  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=10, help="passes over the comments for the speed figures")
    args = parser.parse_args()

    started = time.perf_counter()
    segmenter = default_segmenter()
    segmenter.words("保养")
    print(f"jieba + domain dictionary loaded in {time.perf_counter() - started:.2f} s")

    all_texts: list[str] = []
    for name, path in LABELLED_SETS.items():
        comments = load_labelled(path)
        all_texts += [str(c["text"]) for c in comments]
        per_issue, total = score_labelled(comments)
        print(f"\n{name}: {len(comments)} comments, {sum(1 for c in comments if not c['issues'])} without an issue")
        print(f"  {'issue':22} {'labelled':>8} {'P':>6} {'R':>6} {'F1':>6}")
        for code, score in per_issue.items():
            support = score.true_positives + score.false_negatives
            found = score.true_positives + score.false_positives
            precision = f"{score.precision:6.2f}" if found else "     –"  # nothing flagged: no precision
            print(f"  {code:22} {support:8d} {precision} {score.recall:6.2f} {score.f1:6.2f}")
        print(
            f"  {'micro-average':22} {total.true_positives + total.false_negatives:8d} "
            f"{total.precision:6.3f} {total.recall:6.3f} {total.f1:6.3f}"
        )

    characters = sum(len(t) for t in all_texts)
    started = time.perf_counter()
    for _ in range(args.rounds):
        for text in all_texts:
            segmenter.words(text)
    seconds = time.perf_counter() - started
    count = args.rounds * len(all_texts)
    print(
        f"\nsegmentation: {count / seconds:,.0f} comments/s ({args.rounds * characters / seconds:,.0f} chars/s, "
        f"mean {characters / len(all_texts):.1f} chars)"
    )
    started = time.perf_counter()
    for _ in range(args.rounds):
        for text in all_texts:
            detect_issues(text, DEFAULT_LEXICON, segmenter)
    seconds = time.perf_counter() - started
    print(f"detection (segmentation + {len(DEFAULT_LEXICON.codes)} issues): {count / seconds:,.0f} comments/s")


if __name__ == "__main__":
    main()
