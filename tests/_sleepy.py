"""An objective that only waits: a training that is still running when its parent goes (tests of recycled children)."""

import time


class Sleeper:
    def __call__(self, config: dict) -> dict:
        time.sleep(config["seconds"])
        return {"accuracy": 0.0}
