"""How grading runs: batch autograding with nbgrader, feedback and grades.csv (`make grade`)."""

import sys

# nbformat validates with jsonschema, whose format checkers import rfc3987_syntax when it is installed
# (jupyter-events pulls it in). That import builds some 35 Earley parsers: 2 s of CPU in every process
# that grades (the coordinator, each worker), for the "iri" format no notebook or nbgrader schema uses
# (jsonschema issue #1428). Blocked here: jsonschema then goes without that one checker.
sys.modules.setdefault("rfc3987_syntax", None)
