"""Management commands of the generation app."""

import re

# "-1024,3071" is a value (an HU range), not an option: let argparse take it after --ct-range.
NEGATIVE_VALUE = re.compile(r"^-\d[\d.,]*$")


def accept_negative_values(parser):
    parser._negative_number_matcher = NEGATIVE_VALUE
    return parser
