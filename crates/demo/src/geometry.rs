//! Plane geometry of the demo place, in kilometres east and north of its south-west
//! corner: a convex outline, Voronoi cells clipped to it, and the conversion to
//! longitude and latitude.

/// A point in kilometres.
pub type Point = [f64; 2];

/// Longitude and latitude of the south-west corner, and kilometres per degree there.
const ORIGIN: Point = [-2.6, 50.9];
const KM_PER_DEGREE_LAT: f64 = 111.2;
const KM_PER_DEGREE_LON: f64 = 69.8;

/// Kilometres to longitude and latitude, rounded to a micro-degree (about 0.1 m) so
/// that the cells on either side of an edge share their vertices exactly.
pub fn to_lon_lat(p: Point) -> Point {
    let snap = |v: f64| (v * 1e6).round() / 1e6;
    [
        snap(ORIGIN[0] + p[0] / KM_PER_DEGREE_LON),
        snap(ORIGIN[1] + p[1] / KM_PER_DEGREE_LAT),
    ]
}

/// The county's outline: an ellipse 80 km by 50 km whose southern edge is cut
/// straight by the coast. Convex, counter-clockwise.
pub fn outline() -> Vec<Point> {
    let mut ring = Vec::new();
    for k in 0..32 {
        let t = std::f64::consts::TAU * f64::from(k) / 32.0;
        ring.push([40.0 + 39.0 * t.cos(), 25.0 + 24.0 * t.sin()]);
    }
    clip(&ring, [0.0, 4.0], [0.0, -1.0])
}

/// Whether `p` lies inside the convex, counter-clockwise `ring`.
pub fn inside(ring: &[Point], p: Point) -> bool {
    (0..ring.len()).all(|i| {
        let a = ring[i];
        let b = ring[(i + 1) % ring.len()];
        (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0]) >= 0.0
    })
}

/// The part of a convex polygon on the side of the line through `at` away from
/// `normal`: points `x` with `(x − at)·normal ≤ 0` (Sutherland–Hodgman, one edge).
fn clip(ring: &[Point], at: Point, normal: Point) -> Vec<Point> {
    let side = |p: Point| (p[0] - at[0]) * normal[0] + (p[1] - at[1]) * normal[1];
    let mut out = Vec::with_capacity(ring.len() + 1);
    for i in 0..ring.len() {
        let (a, b) = (ring[i], ring[(i + 1) % ring.len()]);
        let (sa, sb) = (side(a), side(b));
        if sa <= 0.0 {
            out.push(a);
        }
        if (sa < 0.0 && sb > 0.0) || (sa > 0.0 && sb < 0.0) {
            let t = sa / (sa - sb);
            out.push([a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])]);
        }
    }
    out
}

/// The Voronoi cell of each site within the outline: the outline cut by the
/// perpendicular bisector towards every other site.
pub fn voronoi(sites: &[Point], outline: &[Point]) -> Vec<Vec<Point>> {
    sites
        .iter()
        .enumerate()
        .map(|(i, &p)| {
            let mut cell = outline.to_vec();
            // Nearer sites first: the cell shrinks fast and later cuts are cheap.
            let mut others: Vec<usize> = (0..sites.len()).filter(|&j| j != i).collect();
            others.sort_by(|&a, &b| distance(p, sites[a]).total_cmp(&distance(p, sites[b])));
            for j in others {
                let q = sites[j];
                // A site further than twice the cell's reach cannot cut it.
                let reach = cell.iter().map(|&v| distance(p, v)).fold(0.0, f64::max);
                if distance(p, q) > 2.0 * reach {
                    break;
                }
                let mid = [(p[0] + q[0]) / 2.0, (p[1] + q[1]) / 2.0];
                cell = clip(&cell, mid, [q[0] - p[0], q[1] - p[1]]);
            }
            cell
        })
        .collect()
}

pub fn distance(a: Point, b: Point) -> f64 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn area(ring: &[Point]) -> f64 {
        (0..ring.len())
            .map(|i| {
                let (a, b) = (ring[i], ring[(i + 1) % ring.len()]);
                a[0] * b[1] - b[0] * a[1]
            })
            .sum::<f64>()
            / 2.0
    }

    #[test]
    fn cells_tile_the_outline() {
        let outline = outline();
        let sites: Vec<Point> = (0..60)
            .map(|k| {
                let k = f64::from(k);
                [10.0 + (k * 7.3) % 60.0, 8.0 + (k * 3.1) % 34.0]
            })
            .filter(|&p| inside(&outline, p))
            .collect();
        let cells = voronoi(&sites, &outline);
        let total: f64 = cells.iter().map(|c| area(c)).sum();
        assert!((total - area(&outline)).abs() < 1e-6 * area(&outline));
        for (cell, site) in cells.iter().zip(&sites) {
            assert!(inside(cell, *site));
        }
    }
}
