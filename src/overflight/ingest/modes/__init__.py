"""Raw Mode S / ADS-B frames to the canonical message table, decoded by columns.

Why it is written by hand
-------------------------
The decode of raw frames is the bottleneck of ingest, and the libraries are
the bottleneck of the decode: both decode one frame at a time into Python
dicts. ``bench/decode.py`` decodes 134,701 real frames
(``../shared/data/derived/real_frames_combined_avr.txt``) into the message
table; on the project's 2-core machine, shared with other jobs, it measured

=====================  ===============  ===================  ===========
decoder                wall clock       frames/s (wall)      CPU time
=====================  ===============  ===================  ===========
overflight (this)      0.21 s           657,000              0.10 s
pyModeS 3.6.1 batch    8.5 s            15,800               2.8 s
rs1090 0.7.0 batch     5.3 s            25,400               3.1 s
=====================  ===============  ===================  ===========

(ratios 42x pyModeS and 26x rs1090 by wall clock, about 28x and 31x by CPU
time; other runs on the loaded machine gave 25-42x and 26-31x; the
overflight time includes parsing the text file, the peers' does not;
overflight's peak RSS was 165 MB). So frames are decoded here as
columns: an ``(n, 14)`` uint8 matrix is checked with a table-driven CRC,
every field is extracted with numpy shifts and lookup tables, CPR positions
are resolved per aircraft with sorts and accumulates (:mod:`.positions`),
and the columns go straight into Arrow arrays.

Reference libraries in the tests
--------------------------------
On the same 134,701 frames pyModeS and rs1090 agree with each other and with
this decoder on every altitude, velocity, callsign and squawk they both
decode, but pyModeS's batch decoder gives a position within 50 m of rs1090's
on only 4,389 of 12,243 frames (it reports the pair's earlier position),
while rs1090 agrees with this decoder on all 12,852; so the tests use rs1090
(and the jet1090 recording it produced) as the reference for positions and
pyModeS, whose decoders are plain Python one can read, for the fields.

Modules
-------
:mod:`.crc` parity, :mod:`.fields` bit layouts and field decoders,
:mod:`.cpr` CPR arithmetic, :mod:`.positions` pairing and local decoding,
:mod:`.decode` the table, :mod:`.clock` receiver timestamps,
:mod:`.hexio` hex text and fixed-width strings.
"""

from __future__ import annotations

from overflight.ingest.modes.decode import decode_frames
from overflight.ingest.modes.positions import CprOptions

__all__ = ["CprOptions", "decode_frames"]
