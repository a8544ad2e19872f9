# SPDX-License-Identifier: GPL-2.0-or-later
"""The paper's "real traffic" (section 4.2), generated: its trace came
from a campus backbone and is not published, only its statistics are:
1,118,665 packets, 18,229 sessions, 1187.8 bytes per packet on average
(standard deviation 524.6), 72,615.0 bytes per session on average
(standard deviation 460,311.3, a heavy tail).

Packet sizes: two sizes, 64 bytes (acknowledgements) and 1432 bytes (the
largest IP packet of the paper's 1446-byte frames), mixed so that mean
and standard deviation are the paper's (p = 0.8215 gives 1187.8 and
524.0).  Session sizes: log-normal, scaled to the packet count (so the
mean is the paper's), with sigma 2.29: a log-normal with the paper's mean
and standard deviation has sigma 1.925, but a sample of 18,229 sessions
from it falls well short of that standard deviation (302,000: the tail
is what a sample misses), so sigma is the one whose sample, with this
seed, has the paper's 460,000.  Every session has at least one packet.  Sessions are interleaved at random, as on a
backbone link.  Deterministic (a fixed seed).

The file udppace --trace replays: per packet, u16 IP size and u16
session, big endian.
"""
import random
import statistics
import struct

PACKETS, SESSIONS = 1_118_665, 18_229
MEAN_PACKET, SD_PACKET = 1187.8, 524.623
MEAN_SESSION, SD_SESSION = 72_615.0, 460_311.287
SMALL, LARGE = 64, 1432
P_LARGE = (MEAN_PACKET - SMALL) / (LARGE - SMALL)
SESSION_SIGMA = 2.29


def generate(packets=PACKETS, sessions=SESSIONS, seed=42):
    """[(size, session)] in sending order."""
    rng = random.Random(seed)
    sigma = SESSION_SIGMA
    weights = [rng.lognormvariate(0, sigma) for _ in range(sessions)]
    total = sum(weights)
    # every session one packet, the rest by weight
    counts = [1 + int((packets - sessions) * w / total) for w in weights]
    for i in rng.sample(range(sessions), packets - sum(counts)):
        counts[i] += 1
    order = [s for s, c in enumerate(counts) for _ in range(c)]
    rng.shuffle(order)
    return [(LARGE if rng.random() < P_LARGE else SMALL, s) for s in order]


def write(path, records):
    with open(path, "wb") as f:
        f.write(b"".join(struct.pack(">HH", size, session) for size, session in records))


def describe(records):
    """The statistics the paper gives, of this trace."""
    sizes = [size for size, _ in records]
    per_session = {}
    for size, session in records:
        per_session[session] = per_session.get(session, 0) + size
    return {
        "packets": len(records),
        "sessions": len(per_session),
        "bytes": sum(sizes),
        "mean_packet": statistics.fmean(sizes),
        "sd_packet": statistics.pstdev(sizes),
        "mean_session": statistics.fmean(per_session.values()),
        "sd_session": statistics.pstdev(per_session.values()),
    }
