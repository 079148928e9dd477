// Drives JSch (the com.github.mwiede:jsch fork) for the client matrix (test/e2e/clients-libs.test.ts); run with
// `java -cp jsch.jar JschClient.java ...` (single-file source launch, no build step).
// usage: PORT USER (password:PW | key:FILE) PHASE DIR LOCAL_UP LOCAL_DOWN MTIME
// phase 1: mkdir, put, setMtime, ls, rename; phase 2: stat (mtime), get, rm, rmdir. Prints one JSON line.
import com.jcraft.jsch.ChannelSftp;
import com.jcraft.jsch.JSch;
import com.jcraft.jsch.Session;
import java.util.ArrayList;
import java.util.List;

public class JschClient {
  public static void main(String[] a) throws Exception {
    int port = Integer.parseInt(a[0]);
    String user = a[1], cred = a[2], phase = a[3], dir = a[4], up = a[5], down = a[6];
    int mtime = Integer.parseInt(a[7]);
    JSch jsch = new JSch();
    if (cred.startsWith("key:")) jsch.addIdentity(cred.substring(4));
    Session s = jsch.getSession(user, "127.0.0.1", port);
    if (cred.startsWith("password:")) s.setPassword(cred.substring(9));
    s.setConfig("StrictHostKeyChecking", "no");
    s.setConfig("PreferredAuthentications", cred.startsWith("key:") ? "publickey" : "password");
    s.connect(30000);
    ChannelSftp c = (ChannelSftp) s.openChannel("sftp");
    c.connect(30000);
    StringBuilder out = new StringBuilder("{");
    if (phase.equals("1")) {
      c.mkdir(dir);
      c.put(up, dir + "/f.bin");
      c.setMtime(dir + "/f.bin", mtime);
      List<String> names = new ArrayList<>();
      for (Object e : c.ls(dir)) names.add(((ChannelSftp.LsEntry) e).getFilename());
      out.append("\"listing\":\"").append(String.join(" ", names)).append("\",");
      c.rename(dir + "/f.bin", dir + "/g.bin");
    } else {
      out.append("\"mtime\":").append(c.stat(dir + "/g.bin").getMTime()).append(",");
      c.get(dir + "/g.bin", down);
      c.rm(dir + "/g.bin");
      c.rmdir(dir);
    }
    out.append("\"version\":\"").append(JSch.VERSION).append("\"}");
    c.disconnect();
    s.disconnect();
    System.out.println(out);
  }
}
