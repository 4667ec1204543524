#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore

/// `length` bytes of a file from `offset`, as a sequence of buffers of at most `chunkSize` bytes: the
/// body of a streamed upload.
///
/// Memory stays bounded whatever the length: the HTTP client asks for the next chunk only once it can
/// write it. Each iteration opens the file itself and closes it when it ends or is dropped, so an
/// upload that fails half-way, or is sent again, never reads through a stale descriptor. A file
/// shorter than `offset + length`, or a failed read, ends the sequence with the retryable `store.file`.
///
/// Reads block their task for the time a local disk takes to deliver one chunk (sub-millisecond),
/// like the rest of the spool's file access (`FileIO`).
struct FileSliceBody: AsyncSequence, Sendable {
    /// Each element is one chunk of the file.
    typealias Element = ByteBuffer

    /// The file to read.
    let path: String
    /// The first byte to send.
    let offset: Int64
    /// How many bytes to send.
    let length: Int64
    /// The largest chunk.
    let chunkSize: Int

    /// Creates the description of a slice; nothing is opened until iteration starts.
    init(path: String, offset: Int64, length: Int64, chunkSize: Int = 1 << 20) {
        self.path = path
        self.offset = offset
        self.length = length
        self.chunkSize = chunkSize
    }

    /// Starts reading from `offset`.
    func makeAsyncIterator() -> Iterator {
        Iterator(slice: self)
    }

    /// Reads the slice chunk by chunk; owns its file descriptor.
    final class Iterator: AsyncIteratorProtocol {
        private let slice: FileSliceBody
        private var descriptor: Int32 = -1
        private var position: Int64
        private let allocator = ByteBufferAllocator()

        fileprivate init(slice: FileSliceBody) {
            self.slice = slice
            self.position = slice.offset
        }

        deinit {
            if descriptor >= 0 { close(descriptor) }
        }

        /// The next chunk, or nil once `length` bytes were read.
        func next() async throws -> ByteBuffer? {
            let end = slice.offset + slice.length
            guard position < end else {
                closeDescriptor()
                return nil
            }
            if descriptor < 0 { try openFile() }
            let wanted = Int(Swift.min(Int64(slice.chunkSize), end - position))
            var buffer = allocator.buffer(capacity: wanted)
            let (descriptor, position) = (self.descriptor, self.position)
            var failure: Int32 = 0
            let read = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: wanted) { target in
                guard let base = target.baseAddress else { return 0 }
                var total = 0
                while total < wanted {
                    let count = pread(descriptor, base + total, wanted - total, off_t(position) + off_t(total))
                    if count > 0 {
                        total += count
                    } else if count == 0 {
                        break
                    } else if errno != EINTR {
                        failure = errno
                        break
                    }
                }
                return total
            }
            guard failure == 0 else {
                closeDescriptor()
                throw ObjectStoreError.retryable(
                    "store.file", "reading \(slice.path) failed: \(String(cString: strerror(failure)))")
            }
            guard read == wanted else {
                closeDescriptor()
                throw ObjectStoreError.retryable(
                    "store.file",
                    "\(slice.path) ended at byte \(position + Int64(read)), before \(end): "
                        + "it changed during the upload")
            }
            self.position += Int64(read)
            return buffer
        }

        private func openFile() throws {
            let opened = open(slice.path, O_RDONLY | O_CLOEXEC)
            guard opened >= 0 else {
                throw ObjectStoreError.retryable(
                    "store.file", "cannot open \(slice.path) to upload it: \(String(cString: strerror(errno)))")
            }
            descriptor = opened
        }

        private func closeDescriptor() {
            if descriptor >= 0 { close(descriptor) }
            descriptor = -1
        }
    }
}
