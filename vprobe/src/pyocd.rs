//! pyOCD's remote probe protocol (`pyocd ... --uid remote:HOST:PORT`): one JSON object
//! per line, `{"id", "request", "arguments"}` in, `{"id", "status", "result"}` or
//! `{"id", "status", "error"}` out (pyOCD's `probe/tcp_client_probe.py` is the client;
//! `tcp_probe_server.py` the server this stands in for).
//!
//! The probe offers DP and AP register access and no memory shortcut
//! (`get_memory_interface_for_ap` answers null), so pyOCD runs its own MEM-AP code over
//! `read_ap`/`write_ap`, as over a CMSIS-DAP probe. AP addresses carry APSEL in bits
//! [31:24] and the register in [7:0]; pyOCD writes SELECT itself (no
//! MANAGED_AP_SELECTION), and the door reselects only if they disagree. AP reads here
//! are not posted: the probe returns each read's own value, as a CMSIS-DAP probe does.

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::net::TcpStream;
use std::sync::Mutex;

use serde_json::{Value, json};

use crate::dap::{Ack, Dap};

/// pyOCD's status codes.
const GENERAL_ERROR: u32 = 1;
const TRANSFER_FAULT: u32 = 12;

#[derive(Default)]
pub struct Door {
    protocol: Option<String>,
}

type Reply = Result<Value, (u32, String)>;

fn arg_u32(args: &[Value], i: usize) -> Result<u32, (u32, String)> {
    args.get(i)
        .and_then(Value::as_u64)
        .map(|v| v as u32)
        .ok_or((GENERAL_ERROR, format!("argument {i} missing or not a number")))
}

fn fault(ack: Ack) -> (u32, String) {
    (TRANSFER_FAULT, format!("the debug port answered {ack:?}"))
}

impl Door {
    /// Serves one client until it disconnects or sends `close`.
    pub fn serve(&mut self, dap: &Mutex<Dap>, stream: TcpStream) -> std::io::Result<()> {
        stream.set_nodelay(true)?;
        let reader = BufReader::new(stream.try_clone()?);
        let mut writer = BufWriter::new(stream);
        for line in reader.lines() {
            let line = line?;
            if line.trim().is_empty() {
                continue;
            }
            let (reply, close) = match serde_json::from_str::<Value>(&line) {
                Ok(rq) => {
                    let id = rq["id"].clone();
                    let request = rq["request"].as_str().unwrap_or("").to_string();
                    let args = rq["arguments"].as_array().cloned().unwrap_or_default();
                    let mut dap = dap.lock().unwrap();
                    dap.set_jtag(false);
                    dap.round_trip();
                    let result = self.request(&mut dap, &request, &args);
                    let reply = match result {
                        Ok(v) => json!({"id": id, "status": 0, "result": v}),
                        Err((status, error)) => json!({"id": id, "status": status, "error": error}),
                    };
                    (reply, request == "close")
                }
                Err(e) => (json!({"id": null, "status": GENERAL_ERROR, "error": format!("malformed request: {e}")}), false),
            };
            writer.write_all(reply.to_string().as_bytes())?;
            writer.write_all(b"\n")?;
            writer.flush()?;
            if close {
                break;
            }
        }
        Ok(())
    }

    fn select_ap(dap: &mut Dap, addr: u32) {
        let want = (addr & 0xFF00_0000) | (addr & 0xF0);
        if dap.select() != want {
            dap.dp_write(0x8, want);
        }
    }

    fn read_ap(dap: &mut Dap, addr: u32) -> Result<u32, (u32, String)> {
        Self::select_ap(dap, addr);
        match dap.ap_read((addr & 0xC) as u8) {
            (Ack::Ok, v) => Ok(v),
            (ack, _) => Err(fault(ack)),
        }
    }

    fn write_ap(dap: &mut Dap, addr: u32, value: u32) -> Result<(), (u32, String)> {
        Self::select_ap(dap, addr);
        match dap.ap_write((addr & 0xC) as u8, value) {
            Ack::Ok => Ok(()),
            ack => Err(fault(ack)),
        }
    }

    fn request(&mut self, dap: &mut Dap, request: &str, args: &[Value]) -> Reply {
        match request {
            "hello" => match arg_u32(args, 0)? {
                1 => Ok(Value::Null),
                v => Err((GENERAL_ERROR, format!("client requested unsupported protocol version {v} (expected 1)"))),
            },
            "open" | "close" | "lock" | "unlock" | "flush" | "set_clock" | "swj_sequence" | "reset" => Ok(Value::Null),
            "assert_reset" => Ok(Value::Null),
            "is_reset_asserted" => Ok(json!(false)),
            "has_swo" => Ok(json!(false)),
            "connect" => {
                let p = args.first().and_then(Value::as_str).unwrap_or("DEFAULT");
                if p == "JTAG" {
                    return Err((GENERAL_ERROR, "this probe speaks SWD only".into()));
                }
                self.protocol = Some("SWD".into());
                Ok(Value::Null)
            }
            "disconnect" => {
                self.protocol = None;
                Ok(Value::Null)
            }
            "readprop" => match args.first().and_then(Value::as_str).unwrap_or("") {
                "vendor_name" => Ok(json!("isrscope")),
                "product_name" => Ok(json!("isrscope-vprobe (virtual SW-DP)")),
                "supported_wire_protocols" => Ok(json!(["DEFAULT", "SWD"])),
                "wire_protocol" => Ok(json!(self.protocol)),
                "capabilities" => Ok(json!([])),
                "unique_id" => Ok(json!("isrscope-vprobe")),
                other => Err((GENERAL_ERROR, format!("unknown property name '{other}' requested"))),
            },
            "read_dp" => match dap.dp_read((arg_u32(args, 0)? & 0xC) as u8) {
                (Ack::Ok, v) => Ok(json!(v)),
                (ack, _) => Err(fault(ack)),
            },
            "write_dp" => match dap.dp_write((arg_u32(args, 0)? & 0xC) as u8, arg_u32(args, 1)?) {
                Ack::Ok => Ok(Value::Null),
                ack => Err(fault(ack)),
            },
            "read_ap" => Self::read_ap(dap, arg_u32(args, 0)?).map(|v| json!(v)),
            "write_ap" => Self::write_ap(dap, arg_u32(args, 0)?, arg_u32(args, 1)?).map(|_| Value::Null),
            "read_ap_multiple" => {
                // pyOCD asks for at most one auto-increment page (4 KiB) at a time.
                let (addr, count) = (arg_u32(args, 0)?, arg_u32(args, 1)?);
                if count > 1024 {
                    return Err((GENERAL_ERROR, format!("read_ap_multiple of {count} words: at most 1024 (one 4 KiB page)")));
                }
                (0..count).map(|_| Self::read_ap(dap, addr)).collect::<Result<Vec<u32>, _>>().map(|v| json!(v))
            }
            "write_ap_multiple" => {
                let addr = arg_u32(args, 0)?;
                let values = args.get(1).and_then(Value::as_array).cloned().unwrap_or_default();
                for v in values {
                    let v = v.as_u64().ok_or((GENERAL_ERROR, "a value is not a number".to_string()))? as u32;
                    Self::write_ap(dap, addr, v)?;
                }
                Ok(Value::Null)
            }
            "get_memory_interface_for_ap" => Ok(Value::Null),
            other => Err((GENERAL_ERROR, format!("unsupported request '{other}'"))),
        }
    }
}
