import ArgumentParser
import NIOCore
import NIOPosix
#if canImport(Glibc)
import CMalloc
#endif

#if canImport(Glibc)
// Blocks of 256 KiB and more (Argon2's 19 MiB per password check) are mapped and unmapped on
// their own. Left to itself, glibc raises this threshold after the first such free, and then each
// hashing thread's arena keeps its 19 MiB for good (measured: +20 MiB of RSS per hashing thread).
mallopt(M_MMAP_THRESHOLD, 256 * 1024)
#endif

// Swift Concurrency's jobs run on NIO's event loop threads, so a request's handler does not hop
// from the loop that read it to another pool and back (measured in Benchmarks/README.md). Must
// happen first, on the main thread, before any task starts.
NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()

/// The asynchronous entry point of `AsyncParsableCommand` (a plain call would pick the synchronous one).
func runAsync<Command: AsyncParsableCommand>(_: Command.Type) async {
    await Command.main(nil)
}

await runAsync(Lamba.self)
