# The first cell of every graded notebook (read as text by autograder/splice.py, not imported).
# It defines __autograder_report, which runs one test function and publishes its result as plain JSON under the
# autograder's MIME type. The grader parses and compares that JSON in its own process: whatever a submission does to
# this function or to the objects it returns can change only its own results, never the reference or the scores.
# While a test runs, the lab's task functions are wrapped so that each call the test's code makes is described
# (arguments abbreviated); the grader shows the reference run's descriptions beside a failed test.


def __autograder_setup():
    import functools
    import json
    import math
    import types

    from IPython.display import publish_display_data

    mime, nonce = "__MIME__", "__NONCE__"
    max_elements, max_chars, max_calls, max_call_chars = 200_000, 4_000_000, 64, 400

    def number(x):
        if isinstance(x, float) and not math.isfinite(x):
            return {"float": repr(x)}
        return x

    def encode(value, depth=0):
        if depth > 20:
            raise ValueError("result nested too deeply")
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, str):
            return {"str": value[:10_000]}
        if isinstance(value, int):
            return {"int": str(int(value))}
        if isinstance(value, float):
            return {"float": repr(float(value))}
        if isinstance(value, (tuple, list)):
            return {type(value).__name__ if type(value) in (tuple, list) else "list":
                    [encode(v, depth + 1) for v in value]}
        if isinstance(value, dict):
            return {"dict": [[encode(k, depth + 1), encode(v, depth + 1)] for k, v in value.items()]}
        module = type(value).__module__ or ""
        if module.startswith("torch") and hasattr(value, "detach"):
            tensor = value.detach().cpu()
            if str(tensor.dtype) in ("torch.bfloat16", "torch.float16"):
                tensor = tensor.float()
            value = tensor.numpy()
        import numpy as np

        if isinstance(value, (np.ndarray, np.generic)):
            array = np.asarray(value).view(np.ndarray) if isinstance(value, np.ndarray) else np.asarray(value)
            if array.dtype.kind not in "biuf":
                return {"unsupported": f"array of dtype {array.dtype}"}
            if array.size > max_elements:
                raise ValueError(f"result array has {array.size} elements; the limit is {max_elements}")
            data = array.astype(np.float64) if array.dtype.kind == "f" else array
            flat = [number(x) for x in data.ravel().tolist()]
            return {"array": {"dtype": str(array.dtype), "shape": list(array.shape), "data": flat}}
        return {"unsupported": f"{module}.{type(value).__qualname__}"}

    def short(value, depth=0):
        """An abbreviated description of an argument: arrays by shape, dtype and a few values."""
        try:
            module = type(value).__module__ or ""
            if isinstance(value, (bool, int, float, complex)) or value is None:
                return repr(value)
            if isinstance(value, str):
                return repr(value[:40]) + ("..." if len(value) > 40 else "")
            import numpy as np

            if (module.startswith("torch") and hasattr(value, "detach")) or isinstance(value, (np.ndarray, np.generic)):
                kind = "tensor" if module.startswith("torch") else "array"
                data = value.detach().cpu().float().numpy() if kind == "tensor" else np.asarray(value)
                if data.ndim == 0:
                    return f"{type(value).__name__}({data.item()!r})"
                head = np.array2string(data.ravel()[:4], precision=4, separator=", ", threshold=8)
                more = ", ..." if data.size > 4 else ""
                return f"{kind}(shape={tuple(data.shape)}, dtype={value.dtype}, {head[:-1]}{more}])"
            if isinstance(value, (list, tuple)) and depth < 2:
                items = ", ".join(short(v, depth + 1) for v in value[:4]) + (", ..." if len(value) > 4 else "")
                return f"[{items}]" if isinstance(value, list) else f"({items}{',' if len(value) == 1 else ''})"
            if isinstance(value, (types.FunctionType, type)):
                return getattr(value, "__name__", "a function")
            return f"a {type(value).__name__}"
        except Exception:
            return f"a {type(value).__name__}"

    def recorder(name, function, calls, state):
        @functools.wraps(function)
        def record(*args, **kwargs):
            if state["depth"] > 0:  # only the calls the test's own code makes
                return function(*args, **kwargs)
            if len(calls) < max_calls:
                parts = [short(a) for a in args] + [f"{k}={short(v)}" for k, v in kwargs.items()]
                calls.append(f"{name}({', '.join(parts)})"[:max_call_chars])
            state["depth"] += 1
            try:
                return function(*args, **kwargs)
            finally:
                state["depth"] -= 1
        return record

    def report(index, test, names=()):
        space = test.__globals__
        calls, state = [], {"depth": 0}
        originals = {n: space[n] for n in names if isinstance(space.get(n), types.FunctionType)}
        for name, function in originals.items():
            space[name] = recorder(name, function, calls, state)
        try:
            payload = {"ok": True, "value": encode(test())}
        except BaseException as err:  # noqa: B036 - a timeout arrives as KeyboardInterrupt, sys.exit as SystemExit
            try:
                message = str(err)[:2000]
            except BaseException:  # noqa: B036
                message = "(the exception's message could not be read)"
            payload = {"ok": False, "error": type(err).__name__, "message": message,
                       "is_exception": isinstance(err, Exception)}
        finally:
            space.update(originals)
        text = json.dumps({"nonce": nonce, "index": index, "calls": calls, **payload})
        if len(text) > max_chars:
            text = json.dumps({"nonce": nonce, "index": index, "calls": calls, "ok": False,
                               "error": "ResultTooLarge", "message": f"the result is {len(text):,} characters of JSON",
                               "is_exception": True})
        publish_display_data({mime: text})

    return report


__autograder_report = __autograder_setup()
del __autograder_setup
