"""The `ampc` Python module against numpy: compile and call, the Trainer,
errors as ampc.Error. Run by ctest with PYTHONPATH at the built module and
AMPC_SOURCE_DIR at the checkout."""
import os
import shutil
import tempfile
import unittest

import numpy as np
import ampc

SOURCE = os.environ["AMPC_SOURCE_DIR"]
ZOO = os.path.join(SOURCE, "examples", "models")
MM = os.path.join(SOURCE, "test", "lib", "mm.mlir")



def synthetic(rows, rng):
    """Images: a class pattern of +-0.06 plus noise; one-hot labels."""
    labels = rng.integers(0, 10, rows)
    patterns = np.where(np.random.default_rng(7).random((10, 784)) < 0.5,
                        -0.06, 0.06).astype(np.float32)
    x = rng.uniform(-1, 1, (rows, 784)).astype(np.float32) + patterns[labels]
    return x, np.eye(10, dtype=np.float32)[labels]


class CompileTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.dir)
        self.path = MM

    def test_calls_match_numpy(self):
        module = ampc.compile(self.path)
        self.assertEqual(module.functions(), ["mm", "quantize", "square"])
        a = np.arange(6, dtype=np.float32).reshape(2, 3) * 0.37
        b = np.arange(6, dtype=np.float32).reshape(3, 2) - 2.5
        (c,) = module.mm(a, b)
        self.assertEqual(c.dtype, np.float32)
        np.testing.assert_allclose(c, a @ b, rtol=1e-6)
        (same,) = module.call("mm", a, b)
        np.testing.assert_array_equal(same, c)

    def test_bf16_comes_back_as_bits(self):
        module = ampc.compile(self.path)
        (bits,) = module.quantize(np.array([1.0, -2.0, 3.0078125, 65504.0],
                                           dtype=np.float32))
        self.assertEqual(bits.dtype, np.uint16)
        # bf16 is the upper half of f32, rounded to nearest even.
        self.assertEqual(list(bits), [0x3F80, 0xC000, 0x4040, 0x4780])

    def test_policy_changes_the_arithmetic(self):
        a = np.full((2, 3), 1.01, np.float32)
        b = np.ones((3, 2), np.float32)
        (exact,) = ampc.compile(self.path, policy="fp32").mm(a, b)
        (low,) = ampc.compile(self.path, policy="bf16").mm(a, b)
        self.assertAlmostEqual(float(exact[0, 0]), 3.03, places=5)
        # 1.01 is 1.0078125 in bf16 (7 fraction bits); sums stay in f32.
        self.assertEqual(float(low[0, 0]), 3 * 1.0078125)
        self.assertIn("bf16", ampc.compile(self.path,
                                           policy="bf16").precision_report)

    def test_errors_raise_with_the_message(self):
        module = ampc.compile(self.path)
        with self.assertRaisesRegex(ampc.Error, "argument #0 .*tensor<2x3xf32>"):
            module.mm(np.zeros((3, 3), np.float32), np.zeros((3, 2), np.float32))
        with self.assertRaisesRegex(ampc.Error, "dtype complex64"):
            module.mm(np.zeros((2, 3), np.complex64), np.zeros((3, 2), np.float32))
        with self.assertRaisesRegex(AttributeError, "no public function 'nope'"):
            module.nope
        with self.assertRaisesRegex(ampc.Error, "cannot open '.*missing.mlir'"):
            ampc.compile(os.path.join(self.dir, "missing.mlir"))
        with self.assertRaisesRegex(ampc.Error, "unknown policy 'int4'"):
            ampc.compile(self.path, policy="int4")

    def test_cpu_features_pick_the_code(self):
        # AVX2 code computes the same product on any x86-64 machine here.
        a = np.arange(6, dtype=np.float32).reshape(2, 3) * 0.37
        b = np.arange(6, dtype=np.float32).reshape(3, 2) - 2.5
        (c,) = ampc.compile(self.path, cpu_features="-avx512f").mm(a, b)
        np.testing.assert_allclose(c, a @ b, rtol=1e-6)
        with self.assertRaisesRegex(ampc.Error,
                                    "'avx513f' is not a CPU feature"):
            ampc.compile(self.path, cpu_features="+avx513f")
        with self.assertRaisesRegex(ampc.Error, "needs a sign"):
            ampc.Trainer(os.path.join(ZOO, "mlp.mlir"), cpu_features="avx2")
        # What the CPU lacks would stop the process at the first call.
        with open("/proc/cpuinfo") as cpuinfo:
            flags = next((line.split(":", 1)[1].split() for line in cpuinfo
                          if line.startswith("flags")), [])
        if flags and "amx_tile" not in flags:
            with self.assertRaisesRegex(
                    ampc.Error, "'\\+amx-tile' needs amx-tile, which this CPU"):
                ampc.compile(self.path, cpu_features="+amx-tile")


class TrainerTest(unittest.TestCase):
    def test_trains_saves_and_resumes(self):
        mlp = os.path.join(ZOO, "mlp.mlir")
        trainer = ampc.Trainer(mlp, policy="bf16", optimizer="adam", lr=1e-3)
        rng = np.random.default_rng(0)
        first = last = None
        for step in range(60):
            result = trainer.step(*synthetic(128, rng))
            first = first if first is not None else result["loss"]
            last = result["loss"]
            self.assertFalse(result["skipped"])
            self.assertAlmostEqual(result["lr"], 1e-3, places=9)
        self.assertLess(last, first * 0.6)
        self.assertEqual(trainer.steps, 60)
        params = trainer.parameters()
        self.assertEqual(list(params), ["fc1.weight", "fc1.bias", "fc2.weight",
                                        "fc2.bias"])
        self.assertEqual(params["fc1.weight"].shape, (784, 256))
        x, y = synthetic(128, rng)
        loss, logits = trainer.evaluate(x, y)
        self.assertEqual(logits.shape, (128, 10))
        self.assertGreater((logits.argmax(1) == y.argmax(1)).mean(), 0.5)

        directory = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, directory)
        checkpoint = os.path.join(directory, "run.ckpt")
        trainer.save(checkpoint)
        other = ampc.Trainer(mlp, policy="bf16", optimizer="adam", lr=1e-3,
                             seed=5)
        other.load(checkpoint)
        self.assertEqual(other.steps, 60)
        np.testing.assert_array_equal(other.parameters()["fc2.bias"],
                                      params["fc2.bias"])
        trainer.export_npz(os.path.join(directory, "run.npz"))
        archive = np.load(os.path.join(directory, "run.npz"))
        np.testing.assert_array_equal(archive["fc1.weight"],
                                      params["fc1.weight"])

    def test_options_and_errors(self):
        mlp = os.path.join(ZOO, "mlp.mlir")
        with self.assertRaisesRegex(ampc.Error, "unknown option 'learning_rate'"):
            ampc.Trainer(mlp, learning_rate=0.1)
        with self.assertRaisesRegex(ampc.Error, "unknown optimizer 'lamb'"):
            ampc.Trainer(mlp, optimizer="lamb")
        trainer = ampc.Trainer(mlp, policy="fp16", lr=0.1, lr_schedule="step",
                               step_size=1, gamma=0.5)
        self.assertEqual(trainer.loss_scale, 65536.0)  # dynamic under fp16
        x, y = synthetic(128, np.random.default_rng(1))
        rates = [trainer.step(x, y)["lr"] for _ in range(3)]
        np.testing.assert_allclose(rates, [0.1, 0.05, 0.025], rtol=1e-6)
        with self.assertRaisesRegex(ampc.Error, "batch input #0"):
            trainer.step(x[:, :10], y)
        trainer.set_parameter("fc2.bias", np.ones(10, np.float32))
        np.testing.assert_array_equal(trainer.parameters()["fc2.bias"],
                                      np.ones(10, np.float32))
        with self.assertRaisesRegex(ampc.Error, "no parameter 'fc3.bias'"):
            trainer.set_parameter("fc3.bias", np.ones(10, np.float32))

    def test_any_batch_size_for_a_fixed_batch_model(self):
        # mlp.mlir is written for batches of 128: it trains on 32 and
        # evaluates 10 samples (re-batched), and the 10 samples' loss and
        # logits are numpy's for the same parameters.
        mlp = os.path.join(ZOO, "mlp.mlir")
        trainer = ampc.Trainer(mlp, lr=0.1, batch=32)
        rng = np.random.default_rng(3)
        for _ in range(3):
            self.assertFalse(trainer.step(*synthetic(32, rng))["skipped"])
        x, y = synthetic(10, rng)
        loss, logits = trainer.evaluate(x, y)
        p = {k: v.astype(np.float64) for k, v in trainer.parameters().items()}
        h = np.maximum(x @ p["fc1.weight"] + p["fc1.bias"], 0)
        z = h @ p["fc2.weight"] + p["fc2.bias"]
        logp = z - z.max(1, keepdims=True)
        logp -= np.log(np.exp(logp).sum(1, keepdims=True))
        self.assertEqual(logits.shape, (10, 10))
        np.testing.assert_allclose(logits, z, rtol=1e-4, atol=1e-5)
        self.assertAlmostEqual(float(loss), -(y * logp).sum() / 10, places=5)


if __name__ == "__main__":
    unittest.main(verbosity=2)
