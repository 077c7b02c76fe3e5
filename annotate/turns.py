"""Speaker turns in speech without a trained model: speaker change points by the Bayesian Information Criterion
on MFCC frames (Chen & Gopalakrishnan 1998), then agglomerative clustering of the segments into speakers by the
cosine distance of their GMM mean supervectors (a Gaussian mixture fitted to the recording's own frames, its means
MAP-adapted to each segment: Reynolds et al. 2000, Campbell et al. 2006).

Times are seconds on the video's time line, as :mod:`annotate.sound` gives them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from annotate.sound import SAMPLE_RATE, Audio


@dataclass(frozen=True)
class TurnConfig:
    """Settings of change detection and speaker clustering (measured on a real conversation: see the tests)."""

    n_mfcc: int = 20  # MFCCs per frame; c0 (the frame's loudness) is dropped, so 19 features
    frame_s: float = 0.025  # MFCC analysis window
    hop_s: float = 0.01  # MFCC frames every 10 ms
    silence_db: float = -60.0  # a span whose loudest frame (RMS, dBFS) is quieter than this has no turn
    quiet_db: float = 30.0  # frames this far below a span's loud ones (95th percentile) are left out of clustering
    change_window_s: float = 1.0  # frames compared each side of a candidate change point
    change_step_s: float = 0.1  # candidate change points every this much
    change_penalty: float = 1.0  # BIC penalty weight (lambda) of change detection
    min_turn_s: float = 1.0  # change points closer than this to each other or to a span's ends are dropped
    components: int = 16  # Gaussians of the mixture fitted to all speech frames (diagonal covariances)
    relevance: float = 4.0  # MAP relevance factor: a segment's mean of a component moves from the mixture's by n/(n+r)
    max_speakers: int = 3  # the supervector clustering's tree is cut into this many clusters ...
    cluster_penalty: float = 1.5  # ... then the two with the lowest full-covariance delta-BIC merge while it is <= 0
    seed: int = 0  # of the mixture's k-means initialisation: results are deterministic
    ridge: float = 1e-3  # added to covariance diagonals (of standardised features) against singular estimates


@dataclass(frozen=True)
class Turn:
    """One speaker's stretch of speech; speakers are named "S1", "S2", ... in order of first appearance."""

    start_s: float
    end_s: float
    speaker: str


def mfcc_frames(samples: np.ndarray, config: TurnConfig) -> tuple[np.ndarray, np.ndarray]:
    """MFCCs without c0 (frames x features) and each frame's level in dB."""
    import librosa

    n_fft = round(config.frame_s * SAMPLE_RATE)
    hop = round(config.hop_s * SAMPLE_RATE)
    x = np.asarray(samples, np.float32)
    mfcc = librosa.feature.mfcc(y=x, sr=SAMPLE_RATE, n_mfcc=config.n_mfcc, n_fft=n_fft, hop_length=hop,
                                n_mels=40, center=True)
    rms = librosa.feature.rms(y=x, frame_length=n_fft, hop_length=hop, center=True)[0]
    return mfcc[1:].T.astype(np.float64), 20 * np.log10(np.maximum(rms, 1e-10))


def log_det(frames: np.ndarray, ridge: float) -> float:
    """Log-determinant of the frames' full covariance (with ``ridge`` on the diagonal)."""
    cov = np.cov(frames, rowvar=False, bias=True) + ridge * np.eye(frames.shape[1])
    return float(np.linalg.slogdet(cov)[1])


def delta_bic(a: np.ndarray, b: np.ndarray, penalty: float, ridge: float) -> float:
    """BIC gain of modelling two sets of frames by two full-covariance Gaussians rather than one (> 0: two)."""
    n1, n2, d = len(a), len(b), a.shape[1]
    n = n1 + n2
    gain = 0.5 * (n * log_det(np.vstack([a, b]), ridge) - n1 * log_det(a, ridge) - n2 * log_det(b, ridge))
    return gain - penalty * 0.5 * (d + d * (d + 1) / 2) * np.log(n)


def change_points(frames: np.ndarray, config: TurnConfig) -> list[int]:
    """Frame indices of speaker changes: local maxima of the delta-BIC between the windows before and after each
    candidate point that are above 0, the highest first, at least ``min_turn_s`` from each other and the ends."""
    count = len(frames)
    window = round(config.change_window_s / config.hop_s)
    step = max(1, round(config.change_step_s / config.hop_s))
    margin = round(config.min_turn_s / config.hop_s)
    candidates = range(margin, count - margin + 1, step)
    scores = {t: delta_bic(frames[max(0, t - window):t], frames[t:t + window], config.change_penalty, config.ridge)
              for t in candidates}
    chosen: list[int] = []
    for t in sorted(scores, key=lambda t: (-scores[t], t)):
        if scores[t] <= 0:
            break
        if all(abs(t - c) >= margin for c in chosen):
            chosen.append(t)
    return sorted(chosen)


def supervectors(segments: list[np.ndarray], config: TurnConfig) -> np.ndarray:
    """One row per segment: the means of a diagonal Gaussian mixture fitted to all segments' frames, MAP-adapted to
    the segment, less the mixture's, scaled by sqrt(weight) / std (the KL-divergence kernel's scaling)."""
    from sklearn.mixture import GaussianMixture

    everything = np.vstack(segments)
    mixture = GaussianMixture(min(config.components, len(everything)), covariance_type="diag",
                              random_state=config.seed, reg_covar=config.ridge).fit(everything)
    scale = np.sqrt(mixture.weights_)[:, None] / np.sqrt(mixture.covariances_)
    rows = []
    for frames in segments:
        posterior = mixture.predict_proba(frames)
        counts = posterior.sum(axis=0)[:, None]
        adapted = (posterior.T @ frames + config.relevance * mixture.means_) / (counts + config.relevance)
        rows.append(((adapted - mixture.means_) * scale).ravel())
    return np.array(rows)


def cluster(segments: list[np.ndarray], config: TurnConfig) -> list[int]:
    """A cluster index per segment: average-linkage agglomerative clustering of their supervectors by cosine
    distance, cut into at most ``max_speakers`` clusters, then clusters merged by the BIC (one full-covariance
    Gaussian per speaker) while the lowest delta-BIC of a pair is not above 0."""
    from scipy.cluster.hierarchy import fcluster, linkage

    if len(segments) < 2:
        return [0] * len(segments)
    tree = linkage(supervectors(segments, config), method="average", metric="cosine")
    labels = [int(k) for k in fcluster(tree, config.max_speakers, criterion="maxclust")]
    while len(set(labels)) > 1:
        frames = {k: np.vstack([s for s, l in zip(segments, labels) if l == k]) for k in sorted(set(labels))}
        score, i, j = min((delta_bic(frames[i], frames[j], config.cluster_penalty, config.ridge), i, j)
                          for i in frames for j in frames if i < j)
        if score > 0:
            break
        labels = [i if k == j else k for k in labels]
    return labels


def speaker_turns(audio: Audio, spans: list[tuple[float, float]], config: TurnConfig = TurnConfig()) -> list[Turn]:
    """Speaker turns within speech spans: each span is cut at BIC speaker change points, the pieces are clustered
    into speakers across all spans, and touching pieces of one speaker are joined."""
    pieces: list[tuple[float, float, np.ndarray]] = []
    for start_s, end_s in spans:
        samples = audio.clip(start_s, end_s)
        if len(samples) < round(config.frame_s * SAMPLE_RATE):
            continue
        frames, level = mfcc_frames(samples, config)
        if level.max() < config.silence_db:
            continue
        loud = level >= np.percentile(level, 95) - config.quiet_db
        offset = max(start_s, audio.start_s)
        bounds = [0, *change_points(frames, config), len(frames)]
        for a, b in zip(bounds, bounds[1:]):
            kept = frames[a:b][loud[a:b]]
            pieces.append((offset + a * config.hop_s, min(end_s, offset + b * config.hop_s),
                           kept if len(kept) > 1 else frames[a:b]))
    if not pieces:
        return []
    everything = np.vstack([p[2] for p in pieces])
    mean, std = everything.mean(axis=0), everything.std(axis=0) + 1e-8
    labels = cluster([(p[2] - mean) / std for p in pieces], config)
    names: dict[int, str] = {}
    turns: list[Turn] = []
    for (a, b, _), label in zip(pieces, labels):
        name = names.setdefault(label, f"S{len(names) + 1}")
        if turns and turns[-1].speaker == name and abs(turns[-1].end_s - a) < 1e-6:
            turns[-1] = Turn(turns[-1].start_s, round(b, 3), name)
        else:
            turns.append(Turn(round(a, 3), round(b, 3), name))
    return turns
