"""A tiny training script: fits y = a*x + b by gradient descent."""

def main():
    xs = [i / 10 for i in range(50)]
    ys = [3.0 * x + 1.0 for x in xs]
    a, b, lr = 0.0, 0.0, 0.05
    for _ in range(2000):
        ga = sum((a * x + b - y) * x for x, y in zip(xs, ys)) / len(xs)
        gb = sum((a * x + b - y) for x, y in zip(xs, ys)) / len(xs)
        a, b = a - lr * ga, b - lr * gb
    print(f"a={a:.3f} b={b:.3f}")


if __name__ == "__main__":
    main()
