"""Feedback preprocessors: what a student may see of a graded cell."""

from nbgrader.preprocessors import NbGraderPreprocessor

from grading.cells import is_test_cell


class HideGraderTracebacks(NbGraderPreprocessor):
    """In test cells, an error is reduced to its last line (type and message).

    A traceback from a test cell can quote the hidden block or the grader's modules; the last
    line says what went wrong without either. Answer cells keep full tracebacks: they show only
    the student's own code.
    """

    enabled = True

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type == "code" and is_test_cell(cell):
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    output["traceback"] = [f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"]
        return cell, resources
