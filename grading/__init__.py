"""How grading runs: batch autograding with nbgrader, feedback and grades.csv (`make grade`)."""
