"""Identity matching quality: our matcher against Splink on a labeled people data set.

Generates N distinct people (default 10,000) with `bench/identity_data.py` (seeded): about
35% get 1-3 duplicate records with realistic corruptions (typos, nicknames, swapped names,
missing fields, changed or re-written emails and phones, moves, transposed birth dates,
accents, noise), and the set holds hard negatives (households sharing last name, address and
phone; namesakes sharing a full name). The records are written as CSV to the temp dir
(or `--csv PATH`), then deduplicated twice, each timed end to end (model
training + scoring + clustering; data generation excluded):

1. Splink 5 (DuckDB backend) as a typical user sets it up: the usual cleaning (trim, lower
   case, accents stripped, phone reduced to its last 9 digits), NameComparison for each
   name, EmailComparison, DateOfBirthComparison, PostcodeComparison, phone exact, address
   Jaro-Winkler; u by random sampling, m by EM on two blocking rules; every blocked
   pair predicted, then clustered (connected components) at the threshold that gives Splink
   its best F1, found by sweeping the match weight (log2 odds) over the predicted pairs with the
   labels (an oracle threshold, so Splink's figure is an upper bound for it).
2. Ours (`patron_identity.domain.matching`): prepare, the configured default model
   (`MatchModel.default()`, what a tenant gets before any fitting; `--estimate` fits m/u by EM
   on the records first), `match_batch` at the default thresholds.

Quality is pairwise over records: the truth is "same person_id", the prediction "same
cluster" (transitive closure). For ours also "review or merge": the pairs a person ends up
seeing together, in a merged cluster or as a review suggestion.
Prints a table against the targets, the share of duplicates each linked to their
original per corruption kind, false merges by kind of hard negative, and ours' top false
merges and missed pairs with their per-field evidence; writes JSON to
bench/results/identity_quality-<UTC time>.json and identity_quality-latest.json.

    uv run --group bench python bench/identity_quality.py [--people N] [--seed S]
        [--require-ours] [--show K] [--estimate]
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import math
import platform
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make `bench.identity_data` importable
    sys.path.insert(0, str(ROOT))

from bench import public_people  # noqa: E402
from bench.identity_data import (  # noqa: E402
    Record,
    generate,
    strip_accents,
    true_pair_count,
    write_csv,
)

RESULTS = ROOT / "bench" / "results"
NAME = "identity_quality"

# figure -> (comparison, target); "splink" targets are compared with Splink's measured value
TARGETS: dict[str, tuple[str, float | str]] = {
    "ours_merge_precision": (">=", 0.999),
    "ours_merge_recall": (">=", 0.95),
    "ours_review_recall": (">=", 0.99),
    "ours_merge_f1": (">=", "splink"),
    "ours_seconds": ("<=", "splink"),
}


# --------------------------------------------------------------------------- evaluation


@dataclass
class PairQuality:
    true_pairs: int
    predicted_pairs: int
    true_positives: int

    @property
    def precision(self) -> float:
        return self.true_positives / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.true_positives / self.true_pairs if self.true_pairs else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "precision": round(self.precision, 5),
            "recall": round(self.recall, 5),
            "f1": round(self.f1, 5),
            "true_pairs": self.true_pairs,
            "predicted_pairs": self.predicted_pairs,
            "true_positives": self.true_positives,
        }


def cluster_quality(records: Sequence[Record], cluster_of: Mapping[str, str]) -> PairQuality:
    """Pairwise quality of a clustering; records missing from `cluster_of` are singletons."""
    members: dict[str, Counter[str]] = defaultdict(Counter)
    for rec in records:
        members[cluster_of.get(rec.record_id, rec.record_id)][rec.person_id] += 1
    predicted = tp = 0
    for persons in members.values():
        n = sum(persons.values())
        predicted += n * (n - 1) // 2
        tp += sum(k * (k - 1) // 2 for k in persons.values())
    return PairQuality(true_pair_count(records), predicted, tp)


def pair_quality(records: Sequence[Record], pairs: Iterable[tuple[str, str]]) -> PairQuality:
    """Pairwise quality of a set of pairs taken as they are (no transitive closure)."""
    person = {rec.record_id: rec.person_id for rec in records}
    unique = {(a, b) if a < b else (b, a) for a, b in pairs if a != b}
    tp = sum(1 for a, b in unique if person[a] == person[b])
    return PairQuality(true_pair_count(records), len(unique), tp)


def review_or_merge_quality(
    records: Sequence[Record],
    cluster_of: Mapping[str, str],
    review_pairs: Iterable[tuple[str, str]],
) -> PairQuality:
    """Pairs a person sees: every pair inside a merged cluster, plus each review pair whose
    records were not merged together anyway."""
    merged = cluster_quality(records, cluster_of)
    person = {rec.record_id: rec.person_id for rec in records}
    extra = {
        (a, b) if a < b else (b, a)
        for a, b in review_pairs
        if cluster_of.get(a, a) != cluster_of.get(b, b)
    }
    tp = sum(1 for a, b in extra if person[a] == person[b])
    return PairQuality(
        merged.true_pairs, merged.predicted_pairs + len(extra), merged.true_positives + tp
    )


@dataclass
class Sweep:
    threshold: float
    quality: PairQuality
    curve: list[dict[str, float]] = field(default_factory=list)


def best_threshold(records: Sequence[Record], edges: Sequence[tuple[str, str, float]]) -> Sweep:
    """Best-F1 score threshold for clustering `edges` (exact, one pass).

    Scores are match weights (log2 odds: probabilities saturate at 1.0). Edges are added
    from the most to the least likely into a union-find that keeps, per
    cluster, its count of records per person, so the clustered pairwise precision and
    recall are known after every distinct probability.
    """
    person = {rec.record_id: rec.person_id for rec in records}
    true_pairs = true_pair_count(records)
    parent: dict[str, str] = {}
    counts: dict[str, Counter[str]] = {}
    sizes: dict[str, int] = {}

    def find(x: str) -> str:
        if x not in parent:
            parent[x], counts[x], sizes[x] = x, Counter({person[x]: 1}), 1
            return x
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    ordered = sorted(edges, key=lambda e: -e[2])
    predicted = tp = 0
    best = Sweep(math.inf, PairQuality(true_pairs, 0, 0))
    curve: list[dict[str, float]] = []
    for i, (a, b, prob) in enumerate(ordered):
        ra, rb = find(a), find(b)
        if ra != rb:
            if sizes[ra] < sizes[rb]:
                ra, rb = rb, ra
            small, large = counts.pop(rb), counts[ra]
            tp += sum(k * large.get(p, 0) for p, k in small.items())
            predicted += sizes[ra] * sizes[rb]
            large.update(small)
            sizes[ra] += sizes.pop(rb)
            parent[rb] = ra
        if i + 1 == len(ordered) or ordered[i + 1][2] != prob:
            q = PairQuality(true_pairs, predicted, tp)
            if q.f1 > best.quality.f1:
                best = Sweep(prob, q)
            if not curve or curve[-1]["threshold"] - prob >= 1.0:
                point = {"threshold": round(prob, 3), "precision": q.precision, "recall": q.recall}
                curve.append({k: round(v, 5) for k, v in point.items()})
    best.curve = curve
    return best


def linked_by_corruption(
    records: Sequence[Record], cluster_of: Mapping[str, str]
) -> dict[str, dict[str, float]]:
    """Per corruption kind, the share of duplicates that ended in their original's cluster."""
    seen: Counter[str] = Counter()
    linked: Counter[str] = Counter()
    for rec in records:
        if not rec.duplicate_of:
            continue
        same = cluster_of.get(rec.record_id, rec.record_id) == cluster_of.get(
            rec.duplicate_of, rec.duplicate_of
        )
        for kind in [*rec.kinds(), "all"]:
            seen[kind] += 1
            linked[kind] += same
    return {
        kind: {"duplicates": seen[kind], "linked": round(linked[kind] / seen[kind], 4)}
        for kind in sorted(seen, key=lambda k: linked[k] / seen[k])
    }


def _full_name(rec: Record) -> str:
    return " ".join(strip_accents(f"{rec.first_name} {rec.last_name}").lower().split())


def false_merges_by_kind(
    records: Sequence[Record], cluster_of: Mapping[str, str]
) -> dict[str, int]:
    """Wrongly clustered pairs: households, namesakes (same full name), other."""
    clusters: dict[str, list[Record]] = defaultdict(list)
    for rec in records:
        clusters[cluster_of.get(rec.record_id, rec.record_id)].append(rec)
    kinds: Counter[str] = Counter()
    for members in clusters.values():
        if len(members) > 300:  # a runaway cluster: count it, do not enumerate its pairs
            kinds["in_clusters_over_300"] += 1
            continue
        for i, a in enumerate(members):
            for b in members[i + 1 :]:
                if a.person_id == b.person_id:
                    continue
                if a.household_id and a.household_id == b.household_id:
                    kinds["household"] += 1
                elif _full_name(a) == _full_name(b):
                    kinds["same_full_name"] += 1
                else:
                    kinds["other"] += 1
    return dict(kinds)


# --------------------------------------------------------------------------- Splink


def _clean(value: str) -> str | None:
    out = " ".join(strip_accents(value).lower().split())
    return out or None


def _clean_phone(value: str) -> str | None:
    digits = "".join(c for c in value if c.isdigit())
    return digits[-9:] if len(digits) >= 7 else None


def splink_table(records: Sequence[Record]) -> dict[str, list[Any]]:
    """The records as a typical Splink user would feed them: trimmed, lower case, no accents."""
    columns: dict[str, list[Any]] = defaultdict(list)
    for rec in records:
        columns["record_id"].append(rec.record_id)
        for name in ("first_name", "last_name", "address1"):
            columns[name].append(_clean(getattr(rec, name)))
        columns["email"].append(rec.email.strip().lower() or None)
        columns["phone"].append(_clean_phone(rec.phone))
        columns["postcode"].append(" ".join(rec.postcode.upper().split()) or None)
        columns["date_of_birth"].append(rec.date_of_birth or None)
    return dict(columns)


def run_splink(records: Sequence[Record], seed: int) -> dict[str, Any]:
    import splink.comparison_library as cl  # noqa: PLC0415 - only with the bench group
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on  # noqa: PLC0415
    from splink.blocking_rule_library import CustomRule  # noqa: PLC0415

    began = time.perf_counter()
    db_api = DuckDBAPI()
    table = db_api.register(splink_table(records), dataset_display_name="people")
    settings = SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="record_id",
        comparisons=[
            cl.NameComparison("first_name"),
            cl.NameComparison("last_name"),
            cl.EmailComparison("email"),
            cl.ExactMatch("phone"),
            cl.DateOfBirthComparison("date_of_birth", input_is_string=True),
            cl.PostcodeComparison("postcode"),
            cl.JaroWinklerAtThresholds("address1", [0.9, 0.7]),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("first_name", "last_name"),
            block_on("email"),
            block_on("phone"),
            block_on("date_of_birth"),
            block_on("postcode", "substr(first_name, 1, 1)"),
            block_on("last_name", "address1"),
            CustomRule("l.first_name = r.last_name and l.last_name = r.first_name"),
        ],
        retain_matching_columns=False,
    )
    linker = Linker(table, settings, log_level=logging.ERROR)
    # a shared email or phone is near-certain where the data has them; without them (public
    # sets such as FEBRL) a shared full name and birth date is the next best rule
    has_contacts = any(rec.email or rec.phone for rec in records)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("email"), block_on("phone")]
        if has_contacts
        else [block_on("first_name", "last_name", "date_of_birth")],
        recall=0.6,
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=5e6, seed=seed)
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("first_name", "last_name")
    )
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("date_of_birth"))
    predictions = linker.inference.predict()
    trained_and_scored = time.perf_counter() - began

    rows = (
        predictions.as_duckdbpyrelation()
        .select("record_id_l, record_id_r, match_weight")
        .fetchall()
    )
    edges = [(str(a), str(b), float(p)) for a, b, p in rows]
    sweep = best_threshold(records, edges)

    began = time.perf_counter()
    clustered = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_weight=sweep.threshold
    )
    cluster_rows = clustered.as_duckdbpyrelation().select("record_id, cluster_id").fetchall()
    clustering_seconds = time.perf_counter() - began
    cluster_of = {str(rid): str(cid) for rid, cid in cluster_rows}
    quality = cluster_quality(records, cluster_of)
    return {
        "seconds": round(trained_and_scored + clustering_seconds, 2),
        "training_and_scoring_seconds": round(trained_and_scored, 2),
        "clustering_seconds": round(clustering_seconds, 2),
        "candidate_pairs": len(edges),
        "best_threshold_match_weight": round(sweep.threshold, 4),
        "best_threshold_match_probability": 1 / (1 + 2**-sweep.threshold),
        "best": quality.as_dict(),
        "sweep_best": sweep.quality.as_dict(),
        "curve": sweep.curve,
        "linked_by_corruption": linked_by_corruption(records, cluster_of),
        "false_merges_by_kind": false_merges_by_kind(records, cluster_of),
    }


# --------------------------------------------------------------------------- ours


def _none(value: str) -> str | None:
    return value if value.strip() else None


def load_matcher() -> Any | None:
    """The matching module, or None if it cannot be imported (yet)."""
    try:
        return importlib.import_module("patron_identity.domain.matching")
    except ImportError as exc:
        print(f"our matcher is not available (patron_identity.domain.matching: {exc})")
        return None


def run_ours(
    matching: Any, records: Sequence[Record], seed: int, show: int, *, estimate: bool = False
) -> dict[str, Any]:
    inputs = [
        matching.PersonRecord(
            record_id=rec.record_id,
            first_name=_none(rec.first_name),
            last_name=_none(rec.last_name),
            email=_none(rec.email),
            phone=_none(rec.phone),
            address1=_none(rec.address1),
            address2=_none(rec.address2),
            city=_none(rec.city),
            state=_none(rec.state),
            postcode=_none(rec.postcode),
            country=_none(rec.country),
            date_of_birth=date.fromisoformat(rec.date_of_birth) if rec.date_of_birth else None,
        )
        for rec in records
    ]
    began = time.perf_counter()
    rules = matching.NormalizationRules()
    prepared = [matching.prepare(r, rules) for r in inputs]
    prepared_at = time.perf_counter()
    model = matching.MatchModel.default()
    if estimate:
        model = model.estimate(prepared, seed=seed)
    trained_at = time.perf_counter()
    decisions, clusters = matching.match_batch(prepared, model, matching.Thresholds())
    seconds = time.perf_counter() - began

    cluster_of = {str(k): str(v) for k, v in dict(clusters).items()}
    merge_pairs = [(d.left, d.right) for d in decisions if d.decision == "merge"]
    merged = cluster_quality(records, cluster_of)
    reviewed = review_or_merge_quality(
        records, cluster_of, [(d.left, d.right) for d in decisions if d.decision == "review"]
    )
    by_id = {rec.record_id: rec for rec in records}
    return {
        "seconds": round(seconds, 2),
        "prepare_seconds": round(prepared_at - began, 2),
        "model": "estimated by EM" if estimate else "default",
        "estimate_seconds": round(trained_at - prepared_at, 2),
        "match_seconds": round(seconds - (trained_at - began), 2),
        "candidate_pairs": _candidate_pairs(decisions),
        "decisions": dict(Counter(str(d.decision) for d in decisions)),
        "merge": merged.as_dict(),
        "merge_pairs_direct": pair_quality(records, merge_pairs).as_dict(),
        "review_or_merge": reviewed.as_dict(),
        "linked_by_corruption": linked_by_corruption(records, cluster_of),
        "false_merges_by_kind": false_merges_by_kind(records, cluster_of),
        "top_false_merges": _false_merges(decisions, by_id, show),
        "top_missed_pairs": _missed_pairs(records, decisions, cluster_of, by_id, show),
    }


def _candidate_pairs(decisions: Sequence[Any]) -> int | None:
    """Pairs compared, if the decisions say; the returned decisions otherwise are a floor."""
    for source in decisions[:1]:
        count = getattr(source, "candidate_pairs", None)
        if isinstance(count, int):
            return count
    return None


def _evidence(score: Any) -> str:
    evidence = getattr(score, "evidence", None)
    if isinstance(evidence, Mapping):
        return ", ".join(f"{k}={_short(v)}" for k, v in evidence.items())
    if isinstance(evidence, Iterable) and not isinstance(evidence, str):
        return ", ".join(_short(v) for v in evidence)
    return _short(evidence)


def _short(value: Any) -> str:
    field_, level, weight = (getattr(value, a, None) for a in ("field", "level", "weight"))
    if field_ is not None and level is not None:
        return f"{field_}:{level}" + (f"({weight:+.2f})" if isinstance(weight, float) else "")
    if isinstance(value, float):
        return f"{value:+.2f}"
    return str(value)


def _describe(rec: Record) -> str:
    parts = [
        f"{rec.first_name} {rec.last_name}".strip(),
        rec.email,
        rec.phone,
        " ".join(p for p in (rec.address1, rec.city, rec.postcode) if p),
        rec.date_of_birth,
    ]
    return " | ".join(p or "-" for p in parts)


def _pair_row(a: Record, b: Record, decision: Any | None) -> dict[str, Any]:
    score = getattr(decision, "score", None)
    return {
        "left": a.record_id,
        "right": b.record_id,
        "left_record": _describe(a),
        "right_record": _describe(b),
        "same_person": a.person_id == b.person_id,
        "corruptions": sorted(a.kinds() | b.kinds()),
        "household": bool(a.household_id) and a.household_id == b.household_id,
        "decision": getattr(decision, "decision", None),
        "weight": _float(getattr(score, "weight", None)),
        "probability": _float(getattr(score, "probability", None)),
        "evidence": _evidence(score) if score is not None else "",
    }


def _float(value: Any) -> float | None:
    try:
        return round(float(value), 4)
    except (TypeError, ValueError):
        return None


def _false_merges(
    decisions: Sequence[Any], by_id: Mapping[str, Record], show: int
) -> list[dict[str, Any]]:
    wrong = [
        d
        for d in decisions
        if d.decision == "merge" and by_id[d.left].person_id != by_id[d.right].person_id
    ]
    wrong.sort(key=lambda d: -(_float(getattr(d.score, "probability", None)) or 0.0))
    return [_pair_row(by_id[d.left], by_id[d.right], d) for d in wrong[:show]]


def _missed_pairs(
    records: Sequence[Record],
    decisions: Sequence[Any],
    cluster_of: Mapping[str, str],
    by_id: Mapping[str, Record],
    show: int,
) -> list[dict[str, Any]]:
    """Duplicates not in their original's cluster: scored ones first (best first), then not."""
    scored = {frozenset((d.left, d.right)): d for d in decisions}
    missed = [
        (rec, by_id[rec.duplicate_of])
        for rec in records
        if rec.duplicate_of
        and cluster_of.get(rec.record_id, rec.record_id)
        != cluster_of.get(rec.duplicate_of, rec.duplicate_of)
    ]

    def rank(pair: tuple[Record, Record]) -> float:
        d = scored.get(frozenset((pair[0].record_id, pair[1].record_id)))
        return -(_float(getattr(getattr(d, "score", None), "probability", None)) or -1.0)

    missed.sort(key=rank)
    rows = []
    for a, b in missed[:show]:
        rows.append(_pair_row(a, b, scored.get(frozenset((a.record_id, b.record_id)))))
    return rows


# --------------------------------------------------------------------------- report


def verdict(name: str, value: float | None, splink: float | None) -> tuple[str, str]:
    op, target = TARGETS[name]
    goal = splink if target == "splink" else target
    shown = f"{op} {goal:.4g}" if isinstance(goal, float) else f"{op} ?"
    if value is None or not isinstance(goal, float) or math.isnan(value):
        return shown, "ERROR"
    ok = value >= goal if op == ">=" else value <= goal
    return shown, "PASS" if ok else "MISS"


def figures(result: dict[str, Any]) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    splink, ours = result["splink"], result.get("ours")

    def add(figure: str, shown: str, target: str = "-", verdict_: str = "info") -> None:
        rows.append({"figure": figure, "shown": shown, "target": target, "verdict": verdict_})

    sb = splink["best"]
    add(
        f"Splink F1 at its best threshold (weight {splink['best_threshold_match_weight']:.2f})",
        f"{sb['f1']:.4f} (P {sb['precision']:.4f}, R {sb['recall']:.4f})",
    )
    add("Splink wall time (train + predict + cluster)", f"{splink['seconds']:.2f} s")
    add("Splink candidate pairs", f"{splink['candidate_pairs']:,}")
    if not ours:
        add("ours", "not available", "-", "ERROR")
        return rows
    m, rv = ours["merge"], ours["review_or_merge"]
    checks: list[tuple[str, str, float, str, float | None]] = [
        ("ours_merge_precision", "ours auto-merge precision", m["precision"], "", None),
        ("ours_merge_recall", "ours auto-merge recall", m["recall"], "", None),
        ("ours_review_recall", "ours review-or-merge recall (pairs)", rv["recall"], "", None),
        ("ours_merge_f1", "ours auto-merge F1 vs Splink's best", m["f1"], "", sb["f1"]),
        (
            "ours_seconds",
            "ours wall time (prepare + estimate + match)",
            ours["seconds"],
            " s",
            splink["seconds"],
        ),
    ]
    for key, label, value, unit, against in checks:
        target, v = verdict(key, value, against)
        add(label, f"{value:.4f}{unit}" if not unit else f"{value:.2f}{unit}", target, v)
    add("ours review-or-merge precision (pairs)", f"{rv['precision']:.4f}")
    add(
        "ours candidate pairs (compared / returned)",
        f"{ours['candidate_pairs'] if ours['candidate_pairs'] is not None else '?'}"
        f" / {sum(ours['decisions'].values()):,}",
    )
    return rows


def print_report(result: dict[str, Any], stamp: str, show: int) -> None:
    print(
        f"\n{NAME} ({result['dataset']}): {result['people']:,} people, "
        f"{result['records']:,} records, {result['true_pairs']:,} true pairs, "
        f"seed {result['seed']} "
        f"(generated in {result['generation_seconds']} s)"
    )
    print(f"  {'figure':<56} {'measured':<34} {'target':<10} verdict")
    for row in result["figures"]:
        print(f"  {row['figure']:<56} {row['shown']:<34} {row['target']:<10} {row['verdict']}")

    ours = result.get("ours")
    print(
        "\n  duplicates linked to their original, by corruption kind (a record can have several):"
    )
    print(f"    {'kind':<18} {'duplicates':>10} {'Splink':>8} {'ours':>8}")
    for kind, entry in result["splink"]["linked_by_corruption"].items():
        mine = ours["linked_by_corruption"].get(kind, {}).get("linked") if ours else None
        mine_shown = f"{mine:>8.3f}" if mine is not None else f"{'-':>8}"
        print(f"    {kind:<18} {entry['duplicates']:>10} {entry['linked']:>8.3f} {mine_shown}")
    print("\n  wrongly clustered pairs by kind:")
    print(f"    Splink: {result['splink']['false_merges_by_kind'] or 'none'}")
    if ours:
        print(f"    ours:   {ours['false_merges_by_kind'] or 'none'}")
        for title, key in (
            ("false merges", "top_false_merges"),
            ("missed pairs", "top_missed_pairs"),
        ):
            print(f"\n  ours: top {show} {title}:")
            for row in ours[key]:
                print(
                    f"    {row['left']} ~ {row['right']} decision={row['decision']} "
                    f"p={row['probability']} w={row['weight']} {', '.join(row['corruptions'])}"
                )
                print(f"      {row['left_record']}\n      {row['right_record']}")
                if row["evidence"]:
                    print(f"      evidence: {row['evidence']}")
    print(f"  (JSON: bench/results/{NAME}-{stamp}.json)")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--dataset",
        choices=("generated", *public_people.DATASETS),
        default="generated",
        help="our generated people (default) or a public labelled set (bench/public_people.py)",
    )
    parser.add_argument("--people", type=int, default=10_000, help="distinct people")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--show", type=int, default=5, help="false merges / misses to print")
    parser.add_argument(
        "--require-ours", action="store_true", help="exit 1 if our matcher cannot be imported"
    )
    parser.add_argument("--csv", type=Path, default=None, help="where to write the records")
    parser.add_argument(
        "--estimate", action="store_true", help="fit our model by EM before matching"
    )
    args = parser.parse_args(argv)

    began = time.perf_counter()
    if args.dataset == "generated":
        records = generate(args.people, args.seed)
        label = f"identity_people-{args.people}-{args.seed}"
    else:
        records = public_people.load(args.dataset)
        label = f"identity_people-{args.dataset}"
    generation_seconds = round(time.perf_counter() - began, 2)
    csv_path = args.csv or Path(tempfile.gettempdir()) / f"{label}.csv"
    write_csv(records, csv_path)
    people = len({rec.person_id for rec in records})
    print(f"wrote {len(records):,} records for {people:,} people to {csv_path}")

    result: dict[str, Any] = {
        "dataset": args.dataset,
        "people": people,
        "seed": args.seed,
        "records": len(records),
        "duplicate_records": sum(1 for r in records if r.duplicate_of),
        "true_pairs": true_pair_count(records),
        "generation_seconds": generation_seconds,
        "csv": str(csv_path),
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
    }
    matching = load_matcher()
    result["ours_available"] = matching is not None
    result["ours"] = (
        run_ours(matching, records, args.seed, args.show, estimate=args.estimate)
        if matching
        else None
    )
    result["splink"] = run_splink(records, args.seed)
    result["figures"] = figures(result)

    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    text = json.dumps(result, indent=2, default=str) + "\n"
    (RESULTS / f"{NAME}-{stamp}.json").write_text(text)
    (RESULTS / f"{NAME}-latest.json").write_text(text)
    print_report(result, stamp, args.show)
    if matching is None and args.require_ours:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
