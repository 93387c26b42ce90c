import ArgumentParser
import NIOCore
import NIOPosix

// Swift Concurrency's jobs run on NIO's event loop threads, so a request's handler does not hop
// from the loop that read it to another pool and back (measured in Benchmarks/README.md). Must
// happen first, on the main thread, before any task starts.
NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()

/// The asynchronous entry point of `AsyncParsableCommand` (a plain call would pick the synchronous one).
func runAsync<Command: AsyncParsableCommand>(_: Command.Type) async {
    await Command.main(nil)
}

await runAsync(Lamba.self)
