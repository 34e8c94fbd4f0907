"""`python -m nestor.serving --model_name ... --model_base_path ...`; `cli` is the `nestor` console command."""
import sys
from typing import List, Optional

from .server import main


def cli(argv: Optional[List[str]] = None) -> int:
    """`nestor serve [flags]`: the `nestor` command's entry point."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print("usage: nestor serve --model_name NAME --model_base_path DIR [--rest_api_port 8501]\n"
              "commands:\n  serve   serve an export over TensorFlow Serving's REST API")
        return 0 if args else 2
    if args[0] != "serve":
        print(f"nestor: unknown command {args[0]!r}; commands: serve", file=sys.stderr)
        return 2
    return main(args[1:])


if __name__ == "__main__":
    sys.exit(main())
