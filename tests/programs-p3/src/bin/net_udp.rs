//! The WASI 0.3 twin of tests/programs' `net_udp`: the same UDP checks
//! over loopback, through `wasi:sockets@0.3`'s `async` `send` and
//! `receive`, printing the same lines.

use smelt_test_programs_p3::net::{Out, loopback, std_addr};
use wasip3::sockets::types::{IpAddressFamily, UdpSocket};

wasip3::cli::command::export!(NetUdp);

struct NetUdp;

async fn run(out: &mut Out, name: &str, family: IpAddressFamily) {
    let a = UdpSocket::create(family).unwrap();
    let b = UdpSocket::create(family).unwrap();
    a.bind(loopback(family, 0)).unwrap();
    b.bind(loopback(family, 0)).unwrap();
    let (a_addr, b_addr) = (a.get_local_address().unwrap(), b.get_local_address().unwrap());
    out.line(format!(
        "{name}: bound to free ports: {}",
        std_addr(&a_addr).port() != 0 && std_addr(&b_addr).port() != 0
    ));
    a.send(b"hello".to_vec(), Some(b_addr)).await.unwrap();
    let (data, from) = b.receive().await.unwrap();
    out.line(format!(
        "{name}: received {:?} from the sender: {}",
        String::from_utf8_lossy(&data),
        std_addr(&from) == std_addr(&a_addr)
    ));
    b.connect(a_addr).unwrap();
    out.line(format!(
        "{name}: peer set: {}",
        std_addr(&b.get_remote_address().unwrap()) == std_addr(&a_addr)
    ));
    b.send(b"reply".to_vec(), None).await.unwrap();
    let (data, from) = a.receive().await.unwrap();
    out.line(format!(
        "{name}: received {:?} from the peer: {}",
        String::from_utf8_lossy(&data),
        std_addr(&from) == std_addr(&b_addr)
    ));
    a.send(Vec::new(), Some(b_addr)).await.unwrap();
    let (data, _) = b.receive().await.unwrap();
    out.line(format!("{name}: received an empty datagram: {}", data.is_empty()));
    let big: Vec<u8> = (0..60000).map(|i| (i % 253) as u8).collect();
    a.send(big.clone(), Some(b_addr)).await.unwrap();
    let (data, _) = b.receive().await.unwrap();
    out.line(format!("{name}: received 60000 bytes intact: {}", data == big));
    for i in 0..5u8 {
        a.send(vec![i], Some(b_addr)).await.unwrap();
    }
    let mut order = Vec::new();
    for _ in 0..5 {
        order.push(b.receive().await.unwrap().0[0]);
    }
    out.line(format!("{name}: five datagrams in order: {order:?}"));
}

impl wasip3::exports::cli::run::Guest for NetUdp {
    async fn run() -> Result<(), ()> {
        let mut out = Out::default();
        run(&mut out, "ipv4", IpAddressFamily::Ipv4).await;
        run(&mut out, "ipv6", IpAddressFamily::Ipv6).await;
        out.flush().await;
        Ok(())
    }
}

fn main() {}
