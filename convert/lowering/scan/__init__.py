"""Target ``scan``: the Keras 3 graph of the ``keras`` target, with edgeclf's own recurrence in place of Keras's.

Each recurrent layer becomes one ``tf.while_loop`` that leaves only the recurrence in the loop body: the input
projection ``X·W + b`` of every step runs before the loop as one matmul (a FULLY_CONNECTED that XNNPACK runs as a
GEMM), and both directions of a Bidirectional run in the same loop on a stacked state. Only for texts fed at
their true length (the loop has no per-step mask); every other layer kind keeps the ``keras`` lowering.
"""

from edgeclf.registry import import_family_modules

from .. import inherit

import_family_modules(__name__, __path__)
inherit("scan", "keras")
