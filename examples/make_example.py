"""Rebuild examples/analysis.ipynb from its cell sources and execute it (needs matplotlib).

    python examples/make_example.py

The executed notebook, results.csv and figures/summary.png are committed, so the quick start never
needs to run this.
"""

from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).parent

CELLS = [
    (
        "markdown",
        "# River temperature analysis\n\nDaily water temperature at three gauging stations, "
        "summarised per station. The notebook writes `results.csv` and `figures/summary.png`; "
        "both are signed together with the notebook.",
    ),
    (
        "code",
        "import csv\nimport random\nimport statistics\nfrom pathlib import Path\n\n"
        "random.seed(20261125)\nstations = {'Upper': 11.0, 'Middle': 13.5, 'Lower': 15.2}\n"
        "days = 90\nreadings = {\n    name: [round(base + random.gauss(0, 1.4), 2) for _ in range(days)]\n"
        "    for name, base in stations.items()\n}\nprint(f'{days} days x {len(stations)} stations loaded')",
    ),
    (
        "code",
        "summary = [\n    {\n        'station': name,\n        'mean_c': round(statistics.mean(values), 2),\n"
        "        'stdev_c': round(statistics.stdev(values), 2),\n        'max_c': max(values),\n    }\n"
        "    for name, values in readings.items()\n]\nwith open('results.csv', 'w', newline='') as fh:\n"
        "    writer = csv.DictWriter(fh, fieldnames=list(summary[0]))\n    writer.writeheader()\n"
        "    writer.writerows(summary)\nsummary",
    ),
    (
        "code",
        "import matplotlib.pyplot as plt\n\n"
        "Path('figures').mkdir(exist_ok=True)\nfig, ax = plt.subplots(figsize=(6, 3.2), dpi=100)\n"
        "for name, values in readings.items():\n    ax.plot(values, label=name, linewidth=1.2)\n"
        "ax.set_xlabel('day')\nax.set_ylabel('water temperature (°C)')\nax.legend(loc='upper left')\n"
        "fig.tight_layout()\nfig.savefig('figures/summary.png', metadata={'Software': None})\nplt.show()",
    ),
    ("markdown", "The lower station is consistently the warmest; see `results.csv` for the numbers."),
]


def main() -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for kind, source in CELLS:
        make = nbformat.v4.new_markdown_cell if kind == "markdown" else nbformat.v4.new_code_cell
        nb.cells.append(make(source))
    NotebookClient(nb, resources={"metadata": {"path": str(HERE)}}, kernel_name="python3").execute()
    nbformat.write(nb, HERE / "analysis.ipynb")


if __name__ == "__main__":
    main()
