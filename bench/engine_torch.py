"""PyTorch side of `npm run bench:engine` (issue 11 section 4).

The reference convolutional autoencoder of docs/engine.md section 2 / methods.md section 2.1 in
PyTorch (CPU, Debian ``python3-torch`` with OpenBLAS), trained with MSE and Adam(lr=1e-3) or run in
inference (eval mode, no autograd).

This is a worker (the loop is bench/torch_worker.py): the TypeScript harness (bench/engine.ts) starts
it, sends one JSON command per line on stdin and reads one JSON reply per line on stdout, so that it
can interleave timing rounds of ONNX Runtime and PyTorch in a single run. Commands:

    {"cmd": "hello"}
        -> {"ok": true, "torch": "<version>", "threads": n, "blas": "..."}
    {"cmd": "round", "mode": "train"|"infer", "size": H, "batch": N, "warmup": w, "steps": s}
        -> {"ok": true, "times_ms": [...], "loss": float, "peak_rss_mb": float}
    {"cmd": "quit"}

The model for a (mode, size, batch) configuration is built on first use and kept, so later rounds
continue training the same parameters (as a real training loop would). Thread count comes from the
``--threads`` argument (the harness passes the same count it gives ONNX Runtime); the harness also
sets ``OMP_WAIT_POLICY=PASSIVE`` in the environment so idle OpenMP/OpenBLAS threads do not spin
while the other framework's round runs.
"""

import time

import torch
from torch import nn
from torch_worker import peak_rss_mb, serve, start


class ConvAutoencoder(nn.Module):
    """Reference AE: 4 stride-2 4x4 convs (32-64-128-256, BN + LeakyReLU 0.2; the first conv has a
    bias and no BN), mirrored 4x4 stride-2 transposed convs (BN + ReLU; the last has a bias and a
    sigmoid). 1,378,657 parameters at 1 channel."""

    def __init__(self, channels: int = 1) -> None:
        super().__init__()

        def down(cin: int, cout: int, bn: bool) -> list:
            layers = [nn.Conv2d(cin, cout, 4, 2, 1, bias=not bn)]
            if bn:
                layers.append(nn.BatchNorm2d(cout))
            layers.append(nn.LeakyReLU(0.2))
            return layers

        def up(cin: int, cout: int) -> list:
            return [nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]

        self.encoder = nn.Sequential(
            *down(channels, 32, False), *down(32, 64, True), *down(64, 128, True), *down(128, 256, True)
        )
        self.decoder = nn.Sequential(
            *up(256, 128),
            *up(128, 64),
            *up(64, 32),
            nn.ConvTranspose2d(32, channels, 4, 2, 1, bias=True),
            nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))


class Config:
    """One benchmark configuration: a model, its input batch and (in training) its optimiser."""

    def __init__(self, mode: str, size: int, batch: int) -> None:
        gen = torch.Generator().manual_seed(0)
        self.mode = mode
        self.model = ConvAutoencoder(1)
        self.x = torch.rand(batch, 1, size, size, generator=gen)
        if mode == "train":
            self.model.train()
            self.optimizer = torch.optim.Adam(self.model.parameters(), lr=1e-3)
            self.loss_fn = nn.MSELoss()
        else:
            self.model.eval()

    def step(self) -> float:
        """One timed unit: a full training step (forward, MSE, backward, Adam) or one forward."""
        if self.mode == "train":
            self.optimizer.zero_grad(set_to_none=True)
            loss = self.loss_fn(self.model(self.x), self.x)
            loss.backward()
            self.optimizer.step()
            return float(loss.detach())
        with torch.inference_mode():
            y = self.model(self.x)
        return float(y[0, 0, 0, 0])


def main() -> None:
    start(__doc__.splitlines()[0])
    configs: dict = {}

    def hello(cmd: dict) -> dict:
        return {
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "parameters": sum(p.numel() for p in ConvAutoencoder(1).parameters()),
            "config": torch.__config__.show(),
            "peak_rss_mb": peak_rss_mb(),
        }

    def round_(cmd: dict) -> dict:
        key = (cmd["mode"], cmd["size"], cmd["batch"])
        if key not in configs:
            configs[key] = Config(*key)
        config = configs[key]
        for _ in range(cmd["warmup"]):
            config.step()
        times = []
        value = 0.0
        for _ in range(cmd["steps"]):
            t0 = time.perf_counter()
            value = config.step()
            times.append((time.perf_counter() - t0) * 1000.0)
        return {"times_ms": times, "value": value, "peak_rss_mb": peak_rss_mb()}

    serve({"hello": hello, "round": round_})


if __name__ == "__main__":
    main()
