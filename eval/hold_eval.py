#!/usr/bin/env python3
"""Evaluation of the hold-music check (issue 22, part 2): calls with callers recorded while on hold.

Real music: Debian's asterisk-moh-opsound-wav tracks and their GSM twins (asterisk-moh-opsound-gsm). Three
tracks are registered for a tenant `eval`; the other two are "another tenant's track"; a synthetic melody is "a
radio in the room". Calls are espeak-ng conversations with hold segments placed anywhere in a track, looping when
longer than it, through G.711, GSM (the real GSM twin) or Opus, at low levels under line noise, on one channel of a
stereo call, with the caller talking over the music. Runs `callvault audio check --json` on each and prints the
share of on-hold calls found, the share of calls without registered music flagged (with a 95 % upper bound), the
share of segments found within 2 s at both ends of where the music is heard (see `audible`; the share against
where it was played is printed too), and the cost: the hold check's, and both checks' together (the tenant has
the announcement eval's three prompts as well, as the issue's bound is for both).

Usage: eval/hold_eval.py [--per N] [--negatives N] [--seed S] [--bin PATH] [--keep DIR [--reuse]] [--scores FILE]
"""
import argparse, json, math, os, random, shutil, subprocess, sys, tempfile
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import announcement_eval as ae  # the speech, codec and noise helpers

RATE = 8000
MOH = "/usr/share/asterisk/moh"
REGISTERED = ["macroform-cold_day", "manolo_camp-morning_coffee", "macroform-the_simplicity"]
UNREGISTERED = ["macroform-robot_dity", "reno_project-system"]
POSITIVE_KINDS = ["plain", "looped", "gsm", "opus", "low_noise", "stereo", "talk_over", "two_holds"]
NEGATIVE_KINDS = ["speech", "unregistered", "radio", "silence_tones"]
TRACKS = {}
AUDIBLE_DB = -30


def track(name, gsm=False):
    key = (name, gsm)
    if key not in TRACKS:
        TRACKS[key] = ae.load(os.path.join(MOH, name + (".gsm" if gsm else ".wav")))
    return TRACKS[key]


def excerpt(rng, name, seconds, gsm=False):
    """`seconds` of a track from a random point, looping as a PBX does."""
    x = track(name, gsm)
    start = rng.randrange(len(x))
    n = int(seconds * RATE)
    reps = (start + n) // len(x) + 1
    return np.tile(x, reps)[start:start + n]


def audible(raw, name, gsm=False):
    """Where in an excerpt (s from its start) the music is heard, first to last. The tracks fade out to digital
    silence (cold_day's last ~8 s are 40-70 dB down, morning_coffee's last 3 s and first 0.5 s), so an excerpt
    that starts or stops there is heard later or stops being heard earlier than it was played: no check hears
    silence, and the truth is what can be heard. Heard: a quarter second within `AUDIBLE_DB` of the track's level.
    Silences inside the excerpt (a loop's seam) stay in: the segment spans them."""
    ref = ae.rms(track(name, gsm)) * 10 ** (AUDIBLE_DB / 20)
    w = RATE // 4
    loud = [i for i in range(0, len(raw), w) if ae.rms(raw[i:i + w]) >= ref]
    if not loud:
        return 0.0, len(raw) / RATE
    return loud[0] / RATE, min(len(raw), loud[-1] + w) / RATE


def level(x, ref, db):
    return x * (ae.rms(ref) / max(ae.rms(x), 1e-9)) * 10 ** (db / 20)


def make_positive(rng, work, kind):
    """(samples [channels], truth segments [(start, end, track)], channels)."""
    name = rng.choice(REGISTERED)
    a = ae.conversation(rng, work, rng.uniform(8, 40))
    b = ae.conversation(rng, work, rng.uniform(8, 40))
    if kind == "looped":
        name = "manolo_camp-morning_coffee"  # 73 s: a hold of 80-150 s loops it
        secs = rng.uniform(80, 150)
    else:
        secs = rng.uniform(15, 120)
    music = excerpt(rng, name, secs, gsm=(kind == "gsm"))
    heard = audible(music, name, gsm=(kind == "gsm"))
    music = level(music, a, rng.uniform(-8, 0))
    truth = []
    if kind == "low_noise":
        music = level(music, a, rng.uniform(-20, -10))
    if kind == "talk_over":
        chat = ae.conversation(rng, work, secs + 1)[: len(music)]
        music = music + level(chat, music, rng.uniform(-6, 0))
    parts = [a]
    t = len(a) / RATE
    truth.append((t + heard[0], t + heard[1], name, t, t + len(music) / RATE))  # heard span, then the played one
    parts.append(music)
    parts.append(b)
    if kind == "two_holds":
        name2 = rng.choice(REGISTERED)
        m2 = excerpt(rng, name2, rng.uniform(15, 60))
        heard = audible(m2, name2)
        m2 = level(m2, a, rng.uniform(-8, 0))
        t = sum(len(p) for p in parts) / RATE
        truth.append((t + heard[0], t + heard[1], name2, t, t + len(m2) / RATE))
        parts += [m2, ae.conversation(rng, work, rng.uniform(8, 20))]
    x = np.concatenate(parts)
    x = ae.telephone(x, work)
    if kind == "low_noise":
        x = ae.add_noise(rng, x, rng.uniform(15, 25))
    if kind == "stereo":
        # The agent on the left channel; on the right the caller, the music while on hold, and the caller's room.
        agent = ae.telephone(ae.conversation(rng, work, len(x) / RATE + 1)[: len(x)] * 0.5, work)
        return [agent, x], truth
    return [x], truth


def make_negative(rng, work, kind):
    a = ae.conversation(rng, work, rng.uniform(8, 30))
    b = ae.conversation(rng, work, rng.uniform(8, 30))
    if kind == "speech":
        x = np.concatenate([a, b])
    elif kind == "unregistered":
        x = np.concatenate([a, level(excerpt(rng, rng.choice(UNREGISTERED), rng.uniform(15, 90)), a, rng.uniform(-8, 0)), b])
    elif kind == "radio":
        m = ae.music(rng, rng.uniform(15, 60), work)
        chat = ae.conversation(rng, work, len(m) / RATE + 1)[: len(m)]
        x = np.concatenate([a, m + level(chat, m, -3), b])
    else:
        x = np.concatenate([a, ae.tones(rng, rng.uniform(10, 30)), np.zeros(int(rng.uniform(5, 20) * RATE)), b])
    return [ae.telephone(x, work)], []


def write(path, channels, work, codec, rng):
    n = min(len(c) for c in channels)
    m = max(1e-6, max(np.max(np.abs(c[:n])) for c in channels))
    st = np.stack([c[:n] / m * 0.8 for c in channels], axis=1).reshape(-1)
    pcm = path + ".pcm.wav"
    ae.save(pcm, st, channels=len(channels))
    out = path + (".opus" if codec == "opus" else ".wav")
    ae.codec(pcm, out, codec, work, rng)
    os.remove(pcm)
    return out, n / RATE


def generate(rng, work, per, negatives):
    calls = os.path.join(work, "calls"); os.makedirs(calls, exist_ok=True)
    items = []
    for kind in POSITIVE_KINDS:
        for i in range(per):
            chans, truth = make_positive(rng, work, kind)
            codec = {"gsm": "gsm", "opus": "opus"}.get(kind, "ulaw")
            path, secs = write(os.path.join(calls, f"pos-{kind}-{i}"), chans, work, codec, rng)
            items.append((path, True, kind, truth, secs))
    per_kind = max(1, negatives // len(NEGATIVE_KINDS))
    for kind in NEGATIVE_KINDS:
        for i in range(per_kind):
            chans, truth = make_negative(rng, work, kind)
            path, secs = write(os.path.join(calls, f"neg-{kind}-{i}"), chans, work, rng.choice(["ulaw", "alaw", "gsm", "opus"]), rng)
            items.append((path, False, kind, truth, secs))
    return items


def overlap(a, b):
    return max(0.0, min(a[1], b[1]) - max(a[0], b[0]))


def report(results, seed):
    print(f"hold-music evaluation: {len(results)} calls, seed {seed}; registered: {', '.join(REGISTERED)}")
    print(f"{'on-hold calls':<16} {'n':>4} {'found':>6} {'segments':>9} {'within 2 s':>11} {'start err p50/p95':>18} {'end err p50/p95':>16}")
    found_all = n_all = seg_all = ok_all = 0
    played_ok = [0, 0]
    for kind in POSITIVE_KINDS:
        rs = [r for r in results if r["positive"] and r["kind"] == kind]
        found = segs = ok = 0
        se, ee = [], []
        for r in rs:
            hit = False
            for t in r["truth"]:
                best = max(r["on_hold"], key=lambda s: overlap((s["start_s"], s["end_s"]), t), default=None)
                segs += 1
                played_ok[1] += len(t) > 3
                if best and overlap((best["start_s"], best["end_s"]), t) > 0 and best["track"] == t[2]:
                    hit = True
                    ds, de = abs(best["start_s"] - t[0]), abs(best["end_s"] - t[1])
                    se.append(ds); ee.append(de)
                    ok += ds <= 2 and de <= 2
                    if len(t) > 3:
                        played_ok[0] += abs(best["start_s"] - t[3]) <= 2 and abs(best["end_s"] - t[4]) <= 2
            found += hit
        q = lambda v, p: f"{sorted(v)[min(len(v) - 1, int(p * len(v)))]:.1f}" if v else "-"
        print(f"  {kind:<14} {len(rs):>4} {found / max(1, len(rs)):>6.2f} {segs:>9} {ok / max(1, segs):>11.2f} {q(se, .5) + ' / ' + q(se, .95):>18} {q(ee, .5) + ' / ' + q(ee, .95):>16}")
        for r in rs:
            if not any(s for s in r["on_hold"]):
                print(f"    missed {os.path.basename(r['path'])}: truth {[(round(a, 1), round(b, 1)) for a, b, *_ in r['truth']]}")
        found_all += found; n_all += len(rs); seg_all += segs; ok_all += ok
    print(f"  {'ALL':<14} {n_all:>4} {found_all / max(1, n_all):>6.2f} {seg_all:>9} {ok_all / max(1, seg_all):>11.2f}")
    if played_ok[1]:
        print(f"  (within 2 s of the played span, the tracks' faded-out silence counted as music: {played_ok[0] / played_ok[1]:.2f})")
    print(f"{'other calls':<16} {'n':>4} {'flagged':>8}")
    fp = nn = 0
    for kind in NEGATIVE_KINDS:
        rs = [r for r in results if not r["positive"] and r["kind"] == kind]
        f = sum(1 for r in rs if r["on_hold"])
        for r in rs:
            if r["on_hold"]:
                print(f"    flagged {os.path.basename(r['path'])}: {r['on_hold']}")
        print(f"  {kind:<14} {len(rs):>4} {f:>8}")
        fp += f; nn += len(rs)
    print(f"  {'ALL':<14} {nn:>4} {fp:>8}   rate {fp / max(1, nn):.4f}, 95 % upper bound {ae.upper95(fp, nn):.4f}")
    audio = sum(r["seconds"] for r in results); ms = sum(r["ms"] for r in results)
    ams = sum(r.get("announcement_ms", 0) for r in results)
    print(f"cost: {audio:.0f} s of audio in {ms / 1000:.2f} s of hold-check time = {audio / (ms / 1000):.0f}x real time "
          f"({ms / len(results):.1f} ms per call of {audio / len(results):.0f} s, 3 tracks, release build, one core; its decoding of the whole call counted)")
    print(f"cost, both checks: {audio:.0f} s of audio in {(ms + ams) / 1000:.2f} s = {audio / ((ms + ams) / 1000):.0f}x real time "
          f"(announcement {ams / len(results):.1f} ms per call, 3 prompts, 20 s window, its decoding of the window counted; "
          f"hold {ms / len(results):.1f} ms per call)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--per", type=int, default=15, help="calls per on-hold kind")
    ap.add_argument("--negatives", type=int, default=300, help="calls without registered music, over all kinds")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--bin", default=None)
    ap.add_argument("--keep", default=None)
    ap.add_argument("--reuse", action="store_true")
    ap.add_argument("--scores", default=None)
    a = ap.parse_args()
    if not os.path.isdir(MOH):
        sys.exit(f"{MOH} is missing: apt-get install asterisk-moh-opsound-wav asterisk-moh-opsound-gsm")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    binary = a.bin or subprocess.run(["swift", "build", "-c", "release", "--show-bin-path"], cwd=root, capture_output=True, text=True).stdout.strip() + "/callvault"
    rng = random.Random(a.seed)
    work = a.keep or tempfile.mkdtemp(prefix="cv-hold-")
    os.makedirs(work, exist_ok=True)
    manifest = os.path.join(work, "manifest.json")
    if a.reuse and os.path.exists(manifest):
        items = json.load(open(manifest))
    else:
        items = generate(rng, work, a.per, a.negatives)
        json.dump(items, open(manifest, "w"))
    store = os.path.join(work, "store")
    shutil.rmtree(store, ignore_errors=True)
    subprocess.run([binary, "init", "--store", store, "--tenant", "eval"], check=True, capture_output=True)
    os.makedirs(os.path.join(store, "moh"))
    for name in REGISTERED:
        shutil.copy(os.path.join(MOH, name + ".wav"), os.path.join(store, "moh"))
    # The announcement eval's three prompts too: the cost bound is for both checks of a call together.
    prompts = os.path.join(store, "prompts"); os.makedirs(prompts)
    for pid, (voice, text, pace, pitch) in ae.PROMPTS.items():
        raw = os.path.join(work, pid + ".raw.wav")
        ae.run(["espeak-ng", "-v", voice, "-s", str(pace), "-p", str(pitch), "-w", raw, text])
        ae.run(["sox", raw, "-r", "16000", "-c", "1", "-b", "16", os.path.join(prompts, pid + ".flac")])
        os.remove(raw)
    cfg = open(os.path.join(store, "callvault.toml")).read().replace(
        "[tenants.eval]\n", "[tenants.eval]\nhold_music = { tracks = [" + ", ".join(f'"moh/{n}.wav"' for n in REGISTERED) + "] }\n"
        + 'announcement = { verify = "enforce", window = "PT20S", prompts = [' + ", ".join(f'"prompts/{p}.flac"' for p in ae.PROMPTS) + "] }\n")
    open(os.path.join(store, "callvault.toml"), "w").write(cfg)
    results = []
    for path, positive, kind, truth, secs in items:
        out = subprocess.run([binary, "--store", store, "audio", "check", "--json", "--tenant", "eval", path], capture_output=True, text=True)
        if out.returncode != 0:
            print("check failed:", path, out.stderr.strip(), file=sys.stderr); continue
        r = json.loads(out.stdout)
        results.append({"path": path, "positive": positive, "kind": kind, "truth": truth, "seconds": secs,
                        "on_hold": r["on_hold"] or [], "ms": r["on_hold_analysis_ms"] or 0,
                        "announcement_ms": (r["announcement"] or {}).get("analysis_ms") or 0})
    report(results, a.seed)
    if a.scores:
        with open(a.scores, "w") as f:
            for r in results:
                f.write(json.dumps(r) + "\n")
    if not a.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
