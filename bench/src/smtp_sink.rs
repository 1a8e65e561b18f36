//! A minimal SMTP server on loopback that accepts every message and counts them: the
//! receiving side of the bulk benchmark. It speaks just enough of RFC 5321 for an SMTP
//! client (lettre) to deliver: EHLO/HELO, MAIL, RCPT, DATA (read to the lone `.`), RSET,
//! NOOP and QUIT, several messages per connection. Nothing is stored.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// Longest line accepted (RFC 5321 allows 1000 octets; more is a protocol error).
const MAX_LINE: usize = 64 * 1024;

/// A running sink: its address, and how many messages it accepted.
pub struct SmtpSink {
    pub addr: std::net::SocketAddr,
    accepted: Arc<AtomicU64>,
    bytes: Arc<AtomicU64>,
    count_rx: watch::Receiver<u64>,
    task: tokio::task::JoinHandle<()>,
}

impl SmtpSink {
    /// Listens on 127.0.0.1, port 0.
    pub async fn start() -> std::io::Result<SmtpSink> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let accepted = Arc::new(AtomicU64::new(0));
        let bytes = Arc::new(AtomicU64::new(0));
        let (count_tx, count_rx) = watch::channel(0u64);
        let count_tx = Arc::new(count_tx);
        let (a, b) = (accepted.clone(), bytes.clone());
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (a, b, tx) = (a.clone(), b.clone(), count_tx.clone());
                tokio::spawn(async move {
                    let _ = session(stream, &a, &b, &tx).await;
                });
            }
        });
        Ok(SmtpSink {
            addr,
            accepted,
            bytes,
            count_rx,
            task,
        })
    }

    /// `smtp://127.0.0.1:<port>` for `SMTP_URL`.
    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    /// Messages accepted so far.
    pub fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::Relaxed)
    }

    /// Bytes of message data accepted so far.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// Waits until at least `n` messages were accepted.
    pub async fn wait_for(&self, n: u64) {
        let mut rx = self.count_rx.clone();
        let _ = rx.wait_for(|c| *c >= n).await;
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One client connection, until QUIT or EOF.
async fn session(
    stream: TcpStream,
    accepted: &AtomicU64,
    bytes: &AtomicU64,
    count: &watch::Sender<u64>,
) -> std::io::Result<()> {
    let _ = stream.set_nodelay(true);
    let (r, mut w) = stream.into_split();
    let mut r = BufReader::with_capacity(64 * 1024, r);
    w.write_all(b"220 sink.local ESMTP bench sink\r\n").await?;
    let mut line = Vec::with_capacity(1024);
    loop {
        line.clear();
        if read_line(&mut r, &mut line).await? == 0 {
            return Ok(());
        }
        let verb: String = line
            .iter()
            .take_while(|b| b.is_ascii_alphabetic())
            .map(|b| b.to_ascii_uppercase() as char)
            .collect();
        match verb.as_str() {
            "EHLO" => {
                w.write_all(
                    b"250-sink.local\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 SIZE 104857600\r\n",
                )
                .await?
            }
            "HELO" => w.write_all(b"250 sink.local\r\n").await?,
            "MAIL" | "RCPT" | "RSET" | "NOOP" => w.write_all(b"250 OK\r\n").await?,
            "DATA" => {
                w.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
                let mut size = 0u64;
                loop {
                    line.clear();
                    let n = read_line(&mut r, &mut line).await?;
                    if n == 0 {
                        return Ok(());
                    }
                    if line == b".\r\n" || line == b".\n" {
                        break;
                    }
                    size += n as u64;
                }
                bytes.fetch_add(size, Ordering::Relaxed);
                let total = accepted.fetch_add(1, Ordering::Relaxed) + 1;
                count.send_modify(|c| *c = (*c).max(total));
                w.write_all(b"250 OK queued\r\n").await?;
            }
            "QUIT" => {
                w.write_all(b"221 bye\r\n").await?;
                return Ok(());
            }
            _ => w.write_all(b"502 command not implemented\r\n").await?,
        }
    }
}

/// Reads one line (with its terminator) into `line`; 0 at EOF. Lines longer than
/// [`MAX_LINE`] end the session.
async fn read_line(
    r: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
    line: &mut Vec<u8>,
) -> std::io::Result<usize> {
    let n = r.read_until(b'\n', line).await?;
    if n > MAX_LINE {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "line too long",
        ));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::SmtpSink;
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

    async fn expect(r: &mut BufReader<tokio::net::tcp::OwnedReadHalf>, code: &str) {
        loop {
            let mut l = String::new();
            r.read_line(&mut l).await.expect("reads");
            assert!(l.starts_with(code), "expected {code}, got {l:?}");
            if l.as_bytes().get(3) == Some(&b' ') {
                return;
            }
        }
    }

    #[tokio::test]
    async fn counts_two_messages_on_one_connection() {
        let sink = SmtpSink::start().await.expect("starts");
        let s = tokio::net::TcpStream::connect(sink.addr)
            .await
            .expect("connects");
        let (r, mut w) = s.into_split();
        let mut r = BufReader::new(r);
        expect(&mut r, "220").await;
        w.write_all(b"EHLO me\r\n").await.expect("writes");
        expect(&mut r, "250").await;
        for _ in 0..2 {
            w.write_all(b"MAIL FROM:<a@b>\r\n").await.expect("writes");
            expect(&mut r, "250").await;
            w.write_all(b"RCPT TO:<c@d>\r\n").await.expect("writes");
            expect(&mut r, "250").await;
            w.write_all(b"DATA\r\n").await.expect("writes");
            expect(&mut r, "354").await;
            w.write_all(b"Subject: x\r\n\r\n..dot-stuffed\r\n.\r\n")
                .await
                .expect("writes");
            expect(&mut r, "250").await;
        }
        w.write_all(b"QUIT\r\n").await.expect("writes");
        expect(&mut r, "221").await;
        sink.wait_for(2).await;
        assert_eq!(sink.accepted(), 2);
        assert!(sink.bytes() > 20);
    }
}
