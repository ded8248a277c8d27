"""Mode S CRC-24, vectorised over a matrix of frames.

Layout
------
Every Mode S reply ends in a 24-bit parity field. The encoder divides the
data bits (32 for a 56-bit short frame, 88 for a 112-bit long frame),
followed by 24 zero bits, by the generator polynomial

    G(x) = x^24 + x^23 + ... + x^13 + x^12 + x^10 + x^3 + 1   (0x1FFF409)

and puts the 24-bit remainder in the parity field, XORed with an overlay:

==========  =========================================================
DF          overlay
==========  =========================================================
11          interrogator identifier in the low 7 bits (0 when squitter)
17, 18      none: the remainder of the whole frame is 0 when intact
0,4,5,16,   the 24-bit address (Address/Parity): data remainder XOR
20, 21      parity gives the address back
==========  =========================================================

The division has no initial value, so leading zero bytes do not change the
remainder: a short frame is handled as a long frame whose first seven bytes
are zero. The remainder is linear in the data bytes, so it is the XOR of one
table entry per (byte position, byte value): eleven 256-entry tables built
once at import, looked up with numpy fancy indexing.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

GENERATOR = 0xFFF409  # G(x) without the x^24 term
DATA_BYTES = 11  # data bytes of a long frame; short frames are right-aligned


def _byte_tables() -> npt.NDArray[np.uint32]:
    """Remainder contributed by each value of each data byte position."""
    reg = np.arange(256, dtype=np.uint32) << np.uint32(16)  # byte at the top of the register
    gen = np.uint32(GENERATOR)
    mask = np.uint32(0xFFFFFF)
    tables = np.zeros((DATA_BYTES, 256), dtype=np.uint32)
    # The last data byte (position 10) is followed by 24 zero bits: divide
    # its 8 bits; each earlier position is divided by 8 more zero bits.
    for pos in range(DATA_BYTES - 1, -1, -1):
        for _ in range(8):
            top = (reg >> np.uint32(23)) & np.uint32(1)
            reg = ((reg << np.uint32(1)) & mask) ^ (top * gen)
        tables[pos] = reg
    return tables


TABLES = _byte_tables()


def right_align(
    frames: npt.NDArray[np.uint8], long: npt.NDArray[np.bool_]
) -> npt.NDArray[np.uint8]:
    """Frames as an ``(n, 14)`` matrix with short frames shifted to the right.

    ``frames`` holds one frame per row, left-aligned (short frames use the
    first 7 bytes).
    """
    out = frames.copy()
    short = ~long
    out[short, 7:] = frames[short, :7]
    out[short, :7] = 0
    return out


def remainder(aligned: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint32]:
    """CRC remainder of the data bytes XOR the parity field, per frame.

    ``aligned`` is the output of :func:`right_align`. The result is 0 for an
    intact DF17/18 frame and the 24-bit address for an Address/Parity reply.

    Examples
    --------
    >>> f = np.frombuffer(bytes.fromhex("8D406B902015A678D4D220AA4BDA"), np.uint8)
    >>> int(remainder(f[None, :])[0])
    0
    """
    n = aligned.shape[0]
    acc = np.zeros(n, dtype=np.uint32)
    for pos in range(DATA_BYTES):
        acc ^= TABLES[pos][aligned[:, pos]]
    parity = (
        (aligned[:, 11].astype(np.uint32) << np.uint32(16))
        | (aligned[:, 12].astype(np.uint32) << np.uint32(8))
        | aligned[:, 13].astype(np.uint32)
    )
    return acc ^ parity
