"""How grading runs: batch autograding with nbgrader, feedback and grades.csv (`make grade`)."""

import os
import sys

# nbformat validates with jsonschema, whose format checkers import rfc3987_syntax when it is installed
# (jupyter-events pulls it in). That import builds some 35 Earley parsers: 2 s of CPU in every process
# that grades (the coordinator, each worker), for the "iri" format no notebook or nbgrader schema uses
# (jsonschema issue #1428). Blocked here: jsonschema then goes without that one checker.
sys.modules.setdefault("rfc3987_syntax", None)

# How XLA compiles for every process that grades: this one, its workers, and (through
# grading.wall.environment) the student's kernel and agent. A check's arrays are tiny, so
# compiling costs far more than running: a submission is checked in about a third less CPU time
# with LLVM's optimisations and XLA's CPU fusion emitters off (bench/bench_xla_flags.py,
# README "Measured"), and each program compiled as one LLVM module rather than split for parallel
# code generation (a check's programs are tiny: XLA compiled 552 of them in 16 % less CPU, with
# bit-identical results). Fixed for every student, so the same submission always gets the same
# numbers; an XLA_FLAGS of the TA's own wins.
XLA_FLAGS = "--xla_backend_optimization_level=0 --xla_cpu_use_fusion_emitters=false --xla_cpu_parallel_codegen_split_count=1"
os.environ.setdefault("XLA_FLAGS", XLA_FLAGS)
