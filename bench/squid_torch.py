"""PyTorch side of `npm run bench:method -- --method squid` (issue 23).

A PyTorch version of the project's SQUID training iteration, written from methods.md section 4 and
mirroring OUR model (src/methods/squid) layer by layer, so that the ratio measures the engine and not
a different network: the default ("faithful") configuration at 128 px, grid 2x2, base width 32, 200
queue slots, 200 decoder-memory rows, top-k 5, mask ratio 0.95 -- 45,151,427 trainable parameters
(asserted). PyTorch default initialisations (the values differ from ours; the arithmetic does not).

Mirrored exactly:
- encoder on the B*4 patches (ResConv stem + 4 strided ResConvs, skips s0, s1 reassembled);
- in-painting block: Conv1x1 512->128 (no bias), BN, ReLU; channel-major flatten (d = 2048); per-position
  top-k straight-through read (k = 5) of the detached queue; keys = values = the 8 zero-padded grid
  neighbours' reads; query = the pre-memory feature; nn.MultiheadAttention(2048, 8) (PyTorch's own
  in_proj / out_proj layout, as ours); u = ReLU(LN(a) + n); v = ReLU(LN(FF(u)) + u); 3 position-bit
  channels; Conv1x1 131->512, BN, ReLU; masked shortcut with a fed Bernoulli(0.95) mask;
- student decoder (Up = bilinear resize, concat [skip, x] or x, ResConv) with MemoryMatrixBlocks after
  levels 0 and 1 (2x2 windows, position-major flatten, trainable 200-row memories, top-k read, masked),
  reassembled before level 2; Conv1x1 -> sigmoid; teacher decoder on detached F and skips;
- discriminator: Conv5x5 s2 p2 1->16, LReLU(0.2); 16->32->64->128->128 with BN; Linear 2048->1;
- iteration i: a discriminator step (a train-mode generator forward without the teacher, then
  L_D = 0.005*[BCE(D(I), 1) + BCE(D(sg(recon)), 0)], Adam(1e-4, (0.5, 0.999))); when i is even, a
  generator step (a fresh forward with the teacher, L_G = 10*mse + 0.005*BCE(D(recon), 1)
  + 0.01*mse_teacher + 0.001*L_dist, Adam(1e-4, (0.5, 0.999), eps 1e-7, weight_decay 1e-5) over the
  generator), then the FIFO write of that forward's features into the queues. Fresh masks per step.

Like our compiled steps, and unlike the official code, the generator forward of the discriminator step
runs under no_grad and the discriminator's parameters do not require gradients in the generator step:
neither graph computes gradients it does not use (this makes the PyTorch side faster, not slower).

Worker protocol (bench/torch_worker.py: one JSON line per command on stdin, one JSON reply per line
on stdout):
    {"cmd": "hello"} -> {"ok": true, "torch": ..., "parameters": n, "modules": {...}, "shapes": {...},
                         "forward_gflop": {...}}
    {"cmd": "round", "warmup": w, "iterations": n}
        -> {"ok": true, "iteration_ms": [...], "d_ms": [...], "g_ms": [...], "peak_rss_mb": x}
    {"cmd": "quit"}
The iteration counter continues across rounds, so the D/G alternation is the trainer's.
"""

import math
import time

import torch
import torch.nn.functional as F
from torch import nn
from torch_worker import peak_rss_mb, serve, start

SIZE = 128
BATCH = 16
GRID = 2
PATCHES = GRID * GRID
WIDTHS = [32, 64, 128, 256, 512]
LEVELS = 4
Q = SIZE // GRID // 2**LEVELS  # bottleneck side 4
INNER = WIDTHS[4] // 4  # 128
D_MODEL = INNER * Q * Q  # 2048
SLOTS = 200
TOP_K = 5
MASK_RATIO = 0.95
EXPECTED_PARAMETERS = 45_151_427


def patchify(x: torch.Tensor, n: int) -> torch.Tensor:
    b, c, h, w = x.shape
    g = x.reshape(b, c, n, h // n, n, w // n).permute(0, 2, 4, 1, 3, 5)
    return g.reshape(b * n * n, c, h // n, w // n)


def unpatchify(x: torch.Tensor, n: int) -> torch.Tensor:
    r, c, ph, pw = x.shape
    g = x.reshape(r // (n * n), n, n, c, ph, pw).permute(0, 3, 1, 4, 2, 5)
    return g.reshape(r // (n * n), c, n * ph, n * pw)


def neighbour_indices(n: int) -> list:
    out = []
    for row in range(n):
        for col in range(n):
            for dy in (-1, 0, 1):
                for dx in (-1, 0, 1):
                    if dy == 0 and dx == 0:
                        continue
                    r, c = row + dy, col + dx
                    out.append(r * n + c if 0 <= r < n and 0 <= c < n else n * n)
    return out


def top_k_read(z: torch.Tensor, memory: torch.Tensor, k: int) -> torch.Tensor:
    """methods.md 1.3: forward = softmax hard-shrunk at its k-th value and L1-normalised; backward = softmax."""
    soft = torch.softmax(z @ memory.t(), dim=-1)
    detached = soft.detach()
    kth = torch.topk(detached, k, dim=-1).values[..., k - 1 : k]
    shifted = detached - kth
    hard = F.relu(shifted) * detached / (shifted.abs() + 1e-12)
    hard = hard / hard.abs().sum(-1, keepdim=True).clamp_min(1e-12)
    weights = hard + (soft - detached)
    return weights @ memory


class ResConv(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1)
        self.bn2 = nn.BatchNorm2d(cout)
        self.conv3 = nn.Conv2d(cout, cout, 3, 1, 1)
        self.bn3 = nn.BatchNorm2d(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = F.relu(self.bn1(self.conv1(x)))
        b = self.bn3(self.conv3(F.relu(self.bn2(self.conv2(a)))))
        return F.relu(a + b)


class Up(nn.Module):
    def __init__(self, cin: int, cout: int, op: str) -> None:
        super().__init__()
        self.op = op
        self.conv = ResConv(cin, cout, 1)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        resized = F.interpolate(x, size=skip.shape[2:], mode="bilinear", align_corners=False)
        return self.conv(torch.cat([skip, resized], 1) if self.op == "concat" else resized)


OPS = ["concat", "concat", "none", "none"]


class Decoder(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.ups = nn.ModuleList(
            Up(WIDTHS[LEVELS - i] + (WIDTHS[LEVELS - i - 1] if op == "concat" else 0), WIDTHS[LEVELS - 1 - i], op)
            for i, op in enumerate(OPS)
        )
        self.out = nn.Conv2d(WIDTHS[0], 1, 1)

    def forward(self, features, skips, after_level=None):
        levels = []
        x = features
        for i, up in enumerate(self.ups):
            if i == LEVELS - 2:
                x = unpatchify(x, GRID)
            x = up(x, skips[LEVELS - 1 - i])
            if after_level is not None:
                x = after_level(i, x)
            levels.append(x)
        return torch.sigmoid(self.out(x)), levels


class Encoder(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = ResConv(1, WIDTHS[0], 1)
        self.downs = nn.ModuleList(ResConv(WIDTHS[i], WIDTHS[i + 1], 2) for i in range(LEVELS))

    def forward(self, x):
        h = self.stem(patchify(x, GRID))
        skips = []
        for i, down in enumerate(self.downs):
            skips.append(unpatchify(h, GRID) if i < 2 else h)
            h = down(h)
        return h, skips


class MemoryQueues(nn.Module):
    """One FIFO queue per grid position [P, slots, d] (a buffer: no gradient), read with top-k."""

    def __init__(self) -> None:
        super().__init__()
        bound = 1 / math.sqrt(D_MODEL)
        self.register_buffer("queue", torch.empty(PATCHES, SLOTS, D_MODEL).uniform_(-bound, bound))
        self.pointer = 0

    def read(self, features):  # [B, P, d]
        return torch.stack([top_k_read(features[:, p], self.queue[p], TOP_K) for p in range(PATCHES)], 1)

    @torch.no_grad()
    def write(self, features):
        b = features.shape[0]
        rows = (self.pointer + torch.arange(b)) % SLOTS
        self.queue[:, rows] = features.detach().transpose(0, 1)
        self.pointer = (self.pointer + b) % SLOTS


class InpaintBlock(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.reduce = nn.Conv2d(WIDTHS[4], INNER, 1, bias=False)
        self.reduce_bn = nn.BatchNorm2d(INNER)
        self.memory = MemoryQueues()
        self.attention = nn.MultiheadAttention(D_MODEL, 8, batch_first=True)
        self.norm1 = nn.LayerNorm(D_MODEL)
        self.ff1 = nn.Linear(D_MODEL, D_MODEL // 4)
        self.ff2 = nn.Linear(D_MODEL // 4, D_MODEL)
        self.norm2 = nn.LayerNorm(D_MODEL)
        bits = int(math.log2(PATCHES)) + 1
        codes = [[(p >> (bits - 1 - b)) & 1 for b in range(bits)] for p in range(PATCHES)]
        self.register_buffer("bits", torch.tensor(codes, dtype=torch.float32).reshape(1, PATCHES, bits, 1, 1))
        self.expand = nn.Conv2d(INNER + bits, WIDTHS[4], 1)
        self.expand_bn = nn.BatchNorm2d(WIDTHS[4])
        self.register_buffer("neighbours", torch.tensor(neighbour_indices(GRID)))
        self.last_features = None

    def forward(self, x, shortcut_mask):
        rows = x.shape[0]
        batch = rows // PATCHES
        features = F.relu(self.reduce_bn(self.reduce(x))).reshape(batch, PATCHES, D_MODEL)
        self.last_features = features.detach()
        reads = self.memory.read(features)
        padded = torch.cat([reads, reads.new_zeros(batch, 1, D_MODEL)], 1)
        keys = padded[:, self.neighbours].reshape(rows, 8, D_MODEL)
        flat_reads = reads.reshape(rows, D_MODEL)
        attended, _ = self.attention(features.reshape(rows, 1, D_MODEL), keys, keys, need_weights=False)
        u = F.relu(self.norm1(attended.reshape(rows, D_MODEL)) + flat_reads)
        v = F.relu(self.norm2(self.ff2(F.relu(self.ff1(u)))) + u)
        code = self.bits.expand(batch, PATCHES, self.bits.shape[2], Q, Q)
        conditioned = torch.cat([v.reshape(batch, PATCHES, INNER, Q, Q), code], 2).reshape(rows, -1, Q, Q)
        expanded = F.relu(self.expand_bn(self.expand(conditioned)))
        return expanded * shortcut_mask + x * (1 - shortcut_mask)


class MemoryMatrixBlock(nn.Module):
    def __init__(self, channels: int, side: int) -> None:
        super().__init__()
        self.ws = side // 2
        dim = self.ws * self.ws * channels
        bound = 1 / math.sqrt(dim)
        self.memories = nn.ParameterList(
            nn.Parameter(torch.empty(SLOTS, dim).uniform_(-bound, bound)) for _ in range(4)
        )

    def forward(self, x, mask):
        b, c = x.shape[:2]
        windows = patchify(x, 2).permute(0, 2, 3, 1).reshape(b, 4, -1)
        reads = torch.stack([top_k_read(windows[:, j], m, TOP_K) for j, m in enumerate(self.memories)], 1)
        patches = reads.reshape(b * 4, self.ws, self.ws, c).permute(0, 3, 1, 2)
        recalled = unpatchify(patches, 2)
        return recalled * mask + x * (1 - mask)


class SquidGenerator(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.encoder = Encoder()
        self.inpaint = InpaintBlock()
        self.student = Decoder()
        self.decoder_memory = nn.ModuleList(MemoryMatrixBlock(WIDTHS[LEVELS - 1 - l], Q * 2 ** (l + 1)) for l in range(2))
        self.teacher = Decoder()

    def forward(self, x, masks, teacher: bool):
        features, skips = self.encoder(x)
        inpainted = self.inpaint(features, masks[0])

        def after(level, y):
            return self.decoder_memory[level](y, masks[1 + level]) if level < 2 else y

        recon, levels = self.student(inpainted, skips, after)
        out = {"recon": recon, "levels": levels, "features": features}
        if teacher:
            t_recon, t_levels = self.teacher(features.detach(), [s.detach() for s in skips])
            out["t_recon"] = t_recon
            out["t_levels"] = t_levels
        return out


class Discriminator(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        widths = [16, 32, 64, 128, 128]
        self.convs = nn.ModuleList(nn.Conv2d(1 if i == 0 else widths[i - 1], w, 5, 2, 2) for i, w in enumerate(widths))
        self.norms = nn.ModuleList(nn.Identity() if i == 0 else nn.BatchNorm2d(w) for i, w in enumerate(widths))
        side = SIZE // 32
        self.regressor = nn.Linear(widths[-1] * side * side, 1)

    def forward(self, x):
        for conv, norm in zip(self.convs, self.norms):
            x = F.leaky_relu(norm(conv(x)), 0.2)
        return self.regressor(x.flatten(1))


class Squid:
    def __init__(self) -> None:
        torch.manual_seed(0)
        self.generator = SquidGenerator().train()
        self.discriminator = Discriminator().train()
        self.g_opt = torch.optim.Adam(
            self.generator.parameters(), lr=1e-4, betas=(0.5, 0.999), eps=1e-7, weight_decay=1e-5
        )
        self.d_opt = torch.optim.Adam(self.discriminator.parameters(), lr=1e-4, betas=(0.5, 0.999))
        self.images = torch.Generator().manual_seed(1)
        self.iteration = 0

    def parameters(self) -> int:
        return sum(p.numel() for m in (self.generator, self.discriminator) for p in m.parameters())

    def masks(self, batch: int):
        shapes = [Q, 2 * Q, 4 * Q]
        return [torch.bernoulli(torch.full((batch * PATCHES, 1, s, s), MASK_RATIO)) for s in shapes]

    def d_step(self, x):
        with torch.no_grad():
            recon = self.generator(x, self.masks(x.shape[0]), teacher=False)["recon"]
        ones = torch.ones(x.shape[0], 1)
        real = F.binary_cross_entropy_with_logits(self.discriminator(x), ones)
        fake = F.binary_cross_entropy_with_logits(self.discriminator(recon), torch.zeros_like(ones))
        loss = 0.005 * (real + fake)
        self.d_opt.zero_grad(set_to_none=True)
        loss.backward()
        self.d_opt.step()
        return float(loss)

    def g_step(self, x):
        self.discriminator.requires_grad_(False)
        out = self.generator(x, self.masks(x.shape[0]), teacher=True)
        dist = sum(((s - t) ** 2).mean() for s, t in zip(out["levels"], out["t_levels"]))
        loss = (
            10 * F.mse_loss(out["recon"], x)
            + 0.005 * F.binary_cross_entropy_with_logits(self.discriminator(out["recon"]), torch.ones(x.shape[0], 1))
            + 0.01 * F.mse_loss(out["t_recon"], x)
            + 0.001 * dist
        )
        self.g_opt.zero_grad(set_to_none=True)
        loss.backward()
        self.g_opt.step()
        self.discriminator.requires_grad_(True)
        self.generator.inpaint.memory.write(self.generator.inpaint.last_features)
        return float(loss)

    def iterate(self):
        """One trainer iteration; returns (D ms, G ms or None)."""
        x = torch.rand(BATCH, 1, SIZE, SIZE, generator=self.images)
        t0 = time.perf_counter()
        self.d_step(x)
        d_ms = (time.perf_counter() - t0) * 1000
        g_ms = None
        if self.iteration % 2 == 0:
            t1 = time.perf_counter()
            self.g_step(x)
            g_ms = (time.perf_counter() - t1) * 1000
        self.iteration += 1
        return d_ms, g_ms


def module_counts(model: Squid) -> dict:
    g = model.generator
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    return {
        "encoder": count(g.encoder),
        "inpaint": count(g.inpaint),
        "student": count(g.student),
        "decoder_memories": count(g.decoder_memory),
        "teacher": count(g.teacher),
        "discriminator": count(model.discriminator),
    }


def forward_gflop(model: Squid) -> dict:
    """Conv and matmul forward FLOPs of each step's forward pass (torch.profiler with_flops, batch 16)."""
    from torch.profiler import ProfilerActivity, profile

    x = torch.rand(BATCH, 1, SIZE, SIZE)
    counted = {"aten::conv2d", "aten::addmm", "aten::mm", "aten::bmm"}  # leaves: matmul and linear call these

    def total(prof) -> float:
        return sum(e.flops for e in prof.key_averages() if e.key in counted and e.flops) / 1e9

    with torch.no_grad():
        with profile(activities=[ProfilerActivity.CPU], with_flops=True) as p_g:
            out = model.generator(x, model.masks(BATCH), teacher=True)
            model.discriminator(out["recon"])
        with profile(activities=[ProfilerActivity.CPU], with_flops=True) as p_d:
            recon = model.generator(x, model.masks(BATCH), teacher=False)["recon"]
            model.discriminator(x)
            model.discriminator(recon)
    return {"generator_step_forward": total(p_g), "discriminator_step_forward": total(p_d)}


def shapes(model: Squid) -> dict:
    x = torch.rand(2, 1, SIZE, SIZE)
    with torch.no_grad():
        out = model.generator(x, model.masks(2), teacher=True)
    return {
        "F": list(out["features"].shape),
        "reconstruction": list(out["recon"].shape),
        "student_levels": [list(t.shape) for t in out["levels"]],
        "teacher_levels": [list(t.shape) for t in out["t_levels"]],
        "logit": list(model.discriminator(out["recon"]).shape),
    }


def main() -> None:
    start(__doc__.splitlines()[0])
    model = Squid()
    parameters = model.parameters()
    assert parameters == EXPECTED_PARAMETERS, f"PyTorch SQUID has {parameters} parameters, ours {EXPECTED_PARAMETERS}"

    def hello(cmd: dict) -> dict:
        # Checks on a copy of the state would cost memory; they run before any timed round and only
        # touch BN running statistics and the discarded profiler forwards.
        return {
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "parameters": parameters,
            "modules": module_counts(model),
            "shapes": shapes(model) if cmd.get("checks") else None,
            "forward_gflop": forward_gflop(model) if cmd.get("checks") else None,
            "peak_rss_mb": peak_rss_mb(),
        }

    def round_(cmd: dict) -> dict:
        for _ in range(cmd["warmup"]):
            model.iterate()
        iteration_ms, d_ms, g_ms = [], [], []
        for _ in range(cmd["iterations"]):
            t0 = time.perf_counter()
            d, g = model.iterate()
            iteration_ms.append((time.perf_counter() - t0) * 1000)
            d_ms.append(d)
            if g is not None:
                g_ms.append(g)
        return {"iteration_ms": iteration_ms, "d_ms": d_ms, "g_ms": g_ms, "peak_rss_mb": peak_rss_mb()}

    serve({"hello": hello, "round": round_})


if __name__ == "__main__":
    main()
