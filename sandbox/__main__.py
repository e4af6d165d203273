"""`python -m sandbox`: serve the sandbox APIs until Ctrl-C."""

import argparse

from sandbox.server import serve


def main() -> None:
    """Parse the command line and serve."""
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 = any free port")
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--token", default="sandbox", help="the access token the APIs accept")
    parser.add_argument(
        "--rate-limit", type=int, default=1000, help="requests per 10 s window before 429s (per vendor)"
    )
    args = parser.parse_args()
    serve(
        host=args.host,
        port=args.port,
        customers=args.customers,
        seed=args.seed,
        token=args.token,
        rate_limit=args.rate_limit,
    )


if __name__ == "__main__":
    main()
