// pgjdbc connections for tests/jdbc.rs, every case in one JVM (Java starts slowly).
//
// Run as a single-file source program:
//
//     java -cp /usr/share/java/postgresql.jar tests/java/PgcaJdbc.java < cases
//
// Each line of stdin is one case, three fields separated by tabs:
//
//     NAME <TAB> HOME <TAB> JDBC-URL
//
// NAME is a label without tabs. HOME is the directory pgjdbc takes as the user's home for this
// case (it looks for ~/.postgresql/postgresql.pk8, postgresql.crt and root.crt there when the URL
// names no sslkey, sslcert, sslrootcert), or "-" for the JVM's own user.home (tests/jdbc.rs
// starts the JVM with an empty one, so "-" means "no defaults at all"). pgjdbc reads user.home
// when it connects, so the property is switched per case. Blank lines and lines starting with
// "#" are skipped.
//
// For each case the program connects, runs `select current_user` and prints one line:
//
//     NAME <TAB> OK <role>
//     NAME <TAB> FAIL <the exception and its causes, on one line>
//
// and exits 0 (the Rust side decides what was expected); it exits 2 only on a malformed line.
//
// Adding a case is adding a line on the Rust side (tests/jdbc.rs, `Case`), nothing here: e.g. a
// PKCS#12 key store, `jdbc:postgresql://localhost:PORT/postgres?user=alice&sslmode=verify-full&
// sslkey=/path/alice.p12&sslpassword=...`, or a URL `pgca conninfo --driver jdbc` prints (as the
// "conninfo" case does), with "-" as HOME so that only the URL configures the connection.

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;

public class PgcaJdbc {
    public static void main(String[] args) throws Exception {
        String ownHome = System.getProperty("user.home");
        DriverManager.setLoginTimeout(20);
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            if (line.isBlank() || line.startsWith("#")) {
                continue;
            }
            String[] f = line.split("\t", 3);
            if (f.length != 3) {
                System.err.println("PgcaJdbc: expected NAME<TAB>HOME<TAB>URL, got: " + line);
                System.exit(2);
            }
            System.setProperty("user.home", f[1].equals("-") ? ownHome : f[1]);
            System.out.println(f[0] + "\t" + run(f[2]));
            System.out.flush();
        }
    }

    static String run(String url) {
        try (Connection c = DriverManager.getConnection(url);
             Statement s = c.createStatement();
             ResultSet r = s.executeQuery("select current_user")) {
            r.next();
            return "OK " + r.getString(1);
        } catch (Throwable e) {
            StringBuilder b = new StringBuilder("FAIL ");
            for (Throwable t = e; t != null; t = t.getCause()) {
                if (t != e) {
                    b.append(" <- ");
                }
                b.append(t.getClass().getSimpleName()).append(": ").append(t.getMessage());
            }
            return b.toString().replaceAll("[\t\r\n]+", " ");
        }
    }
}
