"""Media processing speed: process_image against a naive full-decode baseline, and a video's poster and preview.

Images: generates N photo-like 12 MP JPEGs (gradients, shapes, sensor-like grain: ~3.5 MB each at quality 90), then,
in the same run, times on one thread and on a bounded thread pool:
  - naive_thumbnails: full-size decode, each of the three sizes resized from the original (the baseline);
  - process_image(web_rendition=False): the three thumbnails only (JPEG draft, each size from the bigger one);
  - process_image: the three thumbnails and the web rendition (web.webp, long edge <= 2048).
Both thumbnail paths write the same sizes with the same WebP settings. Each mode runs --rounds times; the best
round counts.
Video: generates a 1-minute 1080p30 H.264 + AAC clip (ffmpeg lavfi testsrc2), then times the probe, the poster frame
(fast seek: -ss before -i) at 1 s and at 30 s, the 3 s preview, and the whole process_video.

Targets: thumbnails >= 3x faster than naive and >= 20 images/s; poster frame <= 1 s.

    .venv/bin/python bench/thumbnails.py [--images 20] [--megapixels 12] [--threads 2] [--rounds 2]
                                         [--video-seconds 60] [--no-video]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw

from activities.media_processing import (
    THUMBNAIL_SIZES,
    ffmpeg_exe,
    make_preview,
    naive_thumbnails,
    poster_frame,
    probe_video,
    process_image,
    process_video,
)


def photo_like(width: int, height: int, seed: int) -> Image.Image:
    rng = random.Random(seed)
    small = (width // 8, height // 8)
    channels = [Image.linear_gradient("L").rotate(rng.choice((0, 90, 180, 270))).resize(small) for _ in range(3)]
    base = Image.merge("RGB", channels)
    draw = ImageDraw.Draw(base)
    for _ in range(60):
        x, y, radius = rng.randrange(small[0]), rng.randrange(small[1]), rng.randrange(4, min(small) // 3)
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=tuple(rng.randrange(256) for _ in "rgb"))
    image = base.resize((width, height), Image.Resampling.BICUBIC)
    grain = Image.effect_noise((width, height), 30)
    shifted = [ImageChops.offset(grain, width // 3, seed), ImageChops.offset(grain, seed, height // 2)]
    return Image.blend(image, Image.merge("RGB", [grain, *shifted]), 0.3)


def make_jpegs(folder: Path, count: int, megapixels: float, threads: int) -> list[Path]:
    width = round((megapixels * 1_000_000 * 4 / 3) ** 0.5 / 8) * 8
    height = width * 3 // 4

    def one(index: int) -> Path:
        path = folder / f"photo-{index:03}.jpg"
        photo_like(width, height, index).save(path, "JPEG", quality=90)
        return path

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(one, range(count)))


def timed_run(work: Callable[[Path, Path], object], paths: list[Path], out: Path, threads: int) -> float:
    """Seconds to run `work` over all paths, each into its own folder, on `threads` threads (1: no pool)."""
    jobs = [(path, out / path.stem) for path in paths]
    start = time.perf_counter()
    if threads == 1:
        for path, folder in jobs:
            work(path, folder)
    else:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(lambda job: work(*job), jobs))
    return time.perf_counter() - start


def bench_images(args: argparse.Namespace, work_dir: Path) -> list[tuple[str, str, str]]:
    start = time.perf_counter()
    paths = make_jpegs(work_dir, args.images, args.megapixels, max(1, args.threads))
    sizes = [path.stat().st_size for path in paths]
    with Image.open(paths[0]) as first:
        dims = first.size
    print(
        f"generated {len(paths)} JPEGs of {dims[0]}x{dims[1]} ({dims[0] * dims[1] / 1e6:.1f} MP), "
        f"{statistics.mean(sizes) / 1e6:.2f} MB on average, in {time.perf_counter() - start:.1f} s"
    )
    modes: dict[str, Callable[[Path, Path], object]] = {
        "naive": naive_thumbnails,
        "thumbs": lambda path, out: process_image(path, out, web_rendition=False),
        "full": process_image,
    }
    for work in modes.values():  # warm-up: imports, codec initialisation
        work(paths[0], work_dir / "warm-up")
    thread_counts = sorted({1, args.threads})
    best: dict[tuple[str, int], float] = {}
    for round_number in range(args.rounds):
        for threads in thread_counts:
            for mode, work in modes.items():
                seconds = timed_run(work, paths, work_dir / f"r{round_number}-{mode}-{threads}", threads)
                key = (mode, threads)
                best[key] = min(best.get(key, seconds), seconds)
                print(f"  round {round_number + 1}, {mode:6} on {threads} thread(s): {len(paths) / seconds:6.1f} img/s")

    def rate(mode: str, threads: int) -> float:
        return len(paths) / best[(mode, threads)]

    outputs = work_dir / f"r0-full-{thread_counts[0]}"
    web_kb = statistics.mean(p.stat().st_size for p in outputs.glob("*/web.webp")) / 1000
    thumb_kb = {
        name: statistics.mean(p.stat().st_size for p in outputs.glob(f"*/{name}.webp")) / 1000
        for name in THUMBNAIL_SIZES
    }
    print(
        f"output sizes: web.webp {web_kb:.0f} KB, " + ", ".join(f"{name} {kb:.1f} KB" for name, kb in thumb_kb.items())
    )
    rows = []
    for threads in thread_counts:
        label = f"{threads} thread" + ("s" if threads > 1 else "")
        naive, thumbs, full = rate("naive", threads), rate("thumbs", threads), rate("full", threads)
        rows += [
            (f"naive_thumbnails, {label}", f"{naive:.1f} img/s", "baseline"),
            (f"process_image thumbnails only, {label}", f"{thumbs:.1f} img/s", ">= 20 img/s"),
            ("  speed-up vs naive", f"{thumbs / naive:.1f}x", ">= 3x"),
            (f"process_image thumbnails + web.webp, {label}", f"{full:.1f} img/s", ""),
            ("  speed-up vs naive", f"{full / naive:.1f}x", "(does more work)"),
        ]
    return rows


def make_clip(path: Path, seconds: int) -> None:
    command = [ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y"]
    command += ["-f", "lavfi", "-i", f"testsrc2=size=1920x1080:rate=30:duration={seconds}"]
    command += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}"]
    command += ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(path)]
    subprocess.run(command, check=True, timeout=900, capture_output=True)


def median_seconds(work: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_video(args: argparse.Namespace, work_dir: Path) -> list[tuple[str, str, str]]:
    clip = work_dir / "clip-1080p.mp4"
    start = time.perf_counter()
    make_clip(clip, args.video_seconds)
    info = probe_video(clip)
    print(
        f"generated a {info.duration:.0f} s {info.width}x{info.height} H.264 clip "
        f"({clip.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - start:.1f} s"
    )
    probe = median_seconds(lambda: probe_video(clip), 5)
    poster_1s = median_seconds(lambda: poster_frame(clip, 1.0), 5)
    poster_mid = median_seconds(lambda: poster_frame(clip, info.duration / 2 if info.duration else 30.0), 5)
    preview = median_seconds(lambda: make_preview(clip, work_dir, 3.0), 3)
    whole = median_seconds(lambda: process_video(clip, work_dir / "video-out"), 3)
    return [
        ("video probe (ffmpeg -i, moviepy parser)", f"{probe * 1000:.0f} ms", ""),
        ("poster frame at 1 s (1080p -> PPM pipe)", f"{poster_1s * 1000:.0f} ms", "<= 1 s"),
        ("poster frame at mid-clip (30 s)", f"{poster_mid * 1000:.0f} ms", "<= 1 s"),
        ("3 s preview (480p H.264 veryfast)", f"{preview * 1000:.0f} ms", ""),
        ("process_video total (poster+thumbs+preview)", f"{whole * 1000:.0f} ms", ""),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=20)
    parser.add_argument("--megapixels", type=float, default=12)
    parser.add_argument("--threads", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--video-seconds", type=int, default=60)
    parser.add_argument("--no-video", action="store_true")
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs, load average at start {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="herald-bench-media-") as tmp:
        work_dir = Path(tmp)
        rows = bench_images(args, work_dir)
        if not args.no_video:
            rows += bench_video(args, work_dir)
    print(f"load average at end {os.getloadavg()[0]:.2f}\n")
    width = max(len(row[0]) for row in rows)
    print(f"{'measure':{width}}  {'measured':>12}  target")
    for name, measured, target in rows:
        print(f"{name:{width}}  {measured:>12}  {target}")


if __name__ == "__main__":
    main()
